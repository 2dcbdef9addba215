// Reciprocal rank fusion: each ranking contributes 1 / (k + rank) to an item's score, so
// items ranked well by several retrievers rise, and no retriever's raw score scale matters.
// (Cormack, Clarke & Büttcher, 2009; k = 60 is their default.)

export interface Ranked {
  id: string;
}

export interface Fused {
  id: string;
  score: number;
  /** 1-based rank of the item in each input ranking, by ranking name; absent if unranked there. */
  ranks: Record<string, number>;
}

export function reciprocalRankFusion(rankings: Record<string, Ranked[]>, k = 60, limit?: number): Fused[] {
  if (!(k > 0)) throw new Error('RRF k must be positive');
  const fused = new Map<string, Fused>();
  for (const [name, ranking] of Object.entries(rankings)) {
    const seen = new Set<string>();
    ranking.forEach((item, index) => {
      if (seen.has(item.id)) return; // a retriever may not vote twice for one item
      seen.add(item.id);
      const entry = fused.get(item.id) ?? { id: item.id, score: 0, ranks: {} };
      entry.score += 1 / (k + index + 1);
      entry.ranks[name] = index + 1;
      fused.set(item.id, entry);
    });
  }
  // Ties break on the best single rank, then on id, so the order is deterministic.
  const ordered = [...fused.values()].sort(
    (a, b) =>
      b.score - a.score ||
      Math.min(...Object.values(a.ranks)) - Math.min(...Object.values(b.ranks)) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return limit === undefined ? ordered : ordered.slice(0, limit);
}
