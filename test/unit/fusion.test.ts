import { describe, expect, it } from 'vitest';
import { reciprocalRankFusion } from '../../activities/retrieval/fusion.js';
import { orderForAttention } from '../../workflows/policy/context-order.js';

const ids = (...xs: string[]) => xs.map((id) => ({ id }));

describe('reciprocalRankFusion', () => {
  it('scores by 1/(k + rank) summed over rankings', () => {
    const fused = reciprocalRankFusion({ bm25: ids('a', 'b', 'c'), vector: ids('b', 'd') }, 60);
    expect(fused.map((f) => f.id)).toEqual(['b', 'a', 'd', 'c']);
    expect(fused[0]!.score).toBeCloseTo(1 / 62 + 1 / 61, 12);
    expect(fused[0]!.ranks).toEqual({ bm25: 2, vector: 1 });
    expect(fused[1]!.score).toBeCloseTo(1 / 61, 12);
    expect(fused[3]!.ranks).toEqual({ bm25: 3 });
  });

  it('lets k shift weight between top and lower ranks', () => {
    const rankings = { x: ids('a', 'b', 'c', 'd'), y: ids('d', 'c', 'b', 'a'), z: ids('a') };
    expect(reciprocalRankFusion(rankings, 1)[0]!.id).toBe('a');
    // With a small k the first rank dominates; ties resolve by best single rank, then id.
    const tie = reciprocalRankFusion({ x: ids('p', 'q'), y: ids('q', 'p') }, 60);
    expect(tie.map((t) => t.id)).toEqual(['p', 'q']);
  });

  it('ignores duplicates within one ranking and honours the limit', () => {
    const fused = reciprocalRankFusion({ r: ids('a', 'a', 'b') }, 60, 1);
    expect(fused).toHaveLength(1);
    expect(fused[0]!.score).toBeCloseTo(1 / 61, 12);
  });

  it('rejects a non-positive k', () => {
    expect(() => reciprocalRankFusion({}, 0)).toThrow();
  });
});

describe('orderForAttention', () => {
  it('puts the strongest passages at the start and the end', () => {
    expect(orderForAttention([1, 2, 3, 4, 5, 6])).toEqual([1, 3, 5, 6, 4, 2]);
    expect(orderForAttention([1])).toEqual([1]);
    expect(orderForAttention([])).toEqual([]);
  });
});
