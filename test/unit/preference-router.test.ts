// The preference router's pure parts: Bradley–Terry recovers strengths it simulated
// comparisons from (with more than two models, ties, and its prior when data are few),
// k-means is deterministic and finds separated groups, and chooseModel routes by the threshold.
import { describe, expect, it } from 'vitest';
import { fitBradleyTerry, winProbability, type Comparison } from '../../activities/router/bradley-terry.js';
import { defaultClusterCount, kMeans, mulberry32, nearestCentroid } from '../../activities/router/clusters.js';
import { chooseModel, fitRouter, reviewPreference, type RouterFit } from '../../activities/router/preferences.js';

/** Comparisons drawn from known strengths: each pair `games` times, the winner by BT's probability. */
function simulate(truth: Record<string, number>, games: number, seed = 1): Comparison[] {
  const random = mulberry32(seed);
  const names = Object.keys(truth);
  const out: Comparison[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const [a, b] = [names[i]!, names[j]!];
      for (let g = 0; g < games; g++) {
        const aWins = random() < truth[a]! / (truth[a]! + truth[b]!);
        out.push(aWins ? { winner: a, loser: b } : { winner: b, loser: a });
      }
    }
  }
  return out;
}

describe('fitBradleyTerry', () => {
  it('recovers known strengths of four models from simulated comparisons', () => {
    const truth = { small: 0.5, medium: 1, large: 2, xl: 4 };
    const fit = fitBradleyTerry(Object.keys(truth), simulate(truth, 2000), { prior: 0.01 });
    // Strengths are identified up to scale: compare ratios (geometric mean of the truth is √2).
    const scale = Math.SQRT2;
    for (const [m, s] of Object.entries(truth)) expect(fit[m]! * scale).toBeCloseTo(s, 0);
    for (const [a, b] of [['small', 'xl'], ['medium', 'large'], ['large', 'xl']] as const) {
      expect(Math.abs(winProbability(fit, a, b) - truth[a] / (truth[a] + truth[b]))).toBeLessThan(0.02);
    }
    const order = Object.entries(fit).sort((x, y) => x[1] - y[1]).map(([m]) => m);
    expect(order).toEqual(['small', 'medium', 'large', 'xl']);
  });

  it('counts a tie as half a win to each', () => {
    const fit = fitBradleyTerry(['a', 'b'], [{ winner: 'a', loser: 'b', tie: true, weight: 10 }], { prior: 0 });
    expect(winProbability(fit, 'a', 'b')).toBeCloseTo(0.5, 9);
    const mixed = fitBradleyTerry(['a', 'b'], [{ winner: 'a', loser: 'b', weight: 3 }, { winner: 'a', loser: 'b', tie: true, weight: 2 }], { prior: 0 });
    // a scores 3 + 1 of 5: P(a beats b) = 0.8, the MLE.
    expect(winProbability(mixed, 'a', 'b')).toBeCloseTo(0.8, 6);
  });

  it('without data is its prior: all equal, or the given prior predictions', () => {
    const equal = fitBradleyTerry(['a', 'b', 'c'], []);
    for (const s of Object.values(equal)) expect(s).toBeCloseTo(1, 9);
    const pooled = { a: 1, b: 3, c: 1 };
    const shrunk = fitBradleyTerry(['a', 'b', 'c'], [], { prior: 2, priorP: (i, j) => winProbability(pooled, i, j) });
    expect(winProbability(shrunk, 'b', 'a')).toBeCloseTo(0.75, 6);
  });

  it('shrinks few comparisons toward the prior, and many past it', () => {
    const one = fitBradleyTerry(['a', 'b'], [{ winner: 'a', loser: 'b' }], { prior: 2 });
    // One win against two pseudo-games split evenly: 2 of 3, not the MLE's certainty.
    expect(winProbability(one, 'a', 'b')).toBeCloseTo(2 / 3, 6);
    const many = fitBradleyTerry(['a', 'b'], Array.from({ length: 200 }, () => ({ winner: 'a', loser: 'b' })), { prior: 2 });
    expect(winProbability(many, 'a', 'b')).toBeGreaterThan(0.99);
  });

  it('keeps an unseen pair finite through the prior, and ignores players it was not given', () => {
    const fit = fitBradleyTerry(['a', 'b', 'c'], [...Array(20).fill({ winner: 'a', loser: 'b' }), { winner: 'x', loser: 'a' }]);
    expect(Object.keys(fit).sort()).toEqual(['a', 'b', 'c']);
    for (const s of Object.values(fit)) expect(Number.isFinite(s) && s > 0).toBe(true);
    expect(winProbability(fit, 'a', 'c')).toBeGreaterThan(0.5);
  });
});

/** Points around `centres`, each perturbed by seeded noise. */
function blobs(centres: number[][], per: number, noise: number, seed = 7): { points: number[][]; labels: number[] } {
  const random = mulberry32(seed);
  const points: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < per; i++) {
    centres.forEach((c, label) => {
      points.push(c.map((x) => x + (random() - 0.5) * noise));
      labels.push(label);
    });
  }
  return { points, labels };
}

describe('kMeans', () => {
  const centres = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
  ];

  it('finds separated groups by cosine, the same way every time', () => {
    const { points, labels } = blobs(centres, 30, 0.4);
    const first = kMeans(points, { k: 3 });
    const again = kMeans(points, { k: 3 });
    expect(again.assignments).toEqual(first.assignments);
    expect(again.centroids).toEqual(first.centroids);
    // Each true group lands in one cluster of its own.
    const clusterOf = new Map<number, Set<number>>();
    labels.forEach((l, i) => clusterOf.set(l, (clusterOf.get(l) ?? new Set()).add(first.assignments[i]!)));
    expect([...clusterOf.values()].map((s) => s.size)).toEqual([1, 1, 1]);
    expect(new Set([...clusterOf.values()].map((s) => [...s][0])).size).toBe(3);
    expect(first.sizes).toEqual([30, 30, 30]);
    // Scale does not matter (cosine): a far-out copy of a point joins its cluster.
    expect(nearestCentroid(first.centroids, points[0]!.map((x) => x * 50))).toBe(first.assignments[0]);
  });

  it('depends on its seed only through which equivalent clustering it lands on', () => {
    const { points } = blobs(centres, 20, 0.3);
    const a = kMeans(points, { k: 3, seed: 1 });
    const b = kMeans(points, { k: 3, seed: 99 });
    const partition = (x: number[]) => x.map((c) => x.map((d) => d === c));
    expect(partition(b.assignments)).toEqual(partition(a.assignments));
  });

  it('chooses a small k by default and copes with fewer points than clusters', () => {
    expect(defaultClusterCount(10)).toBe(1);
    expect(defaultClusterCount(100)).toBe(5);
    expect(defaultClusterCount(10_000)).toBe(8);
    const tiny = kMeans([[1, 0], [1, 0]], { k: 5 });
    expect(tiny.centroids).toHaveLength(2);
    expect(kMeans([]).centroids).toEqual([]);
  });
});

describe('chooseModel', () => {
  const candidates = [
    { model: 'small', costPerMTok: 0.15 },
    { model: 'large', costPerMTok: 5 },
    { model: 'medium', costPerMTok: 1 },
  ];
  // Two kinds of query: on "faq" (x axis) the small model is as good as the large one; on
  // "reasoning" (y axis) it loses nearly always and the medium one often.
  const prefs: Array<Comparison & { vector: number[] }> = [];
  for (let i = 0; i < 40; i++) {
    prefs.push({ vector: [1, 0.01 * i], winner: 'small', loser: 'large', tie: true });
    prefs.push({ vector: [1, 0.01 * i], winner: 'medium', loser: 'large', tie: true });
    prefs.push({ vector: [0.01 * i, 1], winner: 'large', loser: 'small' });
    prefs.push({ vector: [0.01 * i, 1], winner: i % 3 === 0 ? 'medium' : 'large', loser: i % 3 === 0 ? 'large' : 'medium' });
  }
  const fit: RouterFit = { version: 3, preferences: prefs.length, createdAt: '', model: fitRouter(prefs, { k: 2, embedder: 'test' }) };

  it('routes to the cheapest model as good as the strongest in the query’s cluster', () => {
    const faq = chooseModel(fit, [1, 0.2], { query: '', candidates, threshold: 0.45 });
    expect(faq).toMatchObject({ model: 'small', chosen: 'small', fitVersion: 3, shadow: false });
    expect(faq.winProbability.small).toBeGreaterThan(0.45);
    const reasoning = chooseModel(fit, [0.2, 1], { query: '', candidates, threshold: 0.45 });
    expect(reasoning).toMatchObject({ model: 'large', strongest: 'large' });
    expect(reasoning.cluster).not.toBe(faq.cluster);
    expect(reasoning.winProbability.small).toBeLessThan(0.1);
    // A looser threshold lets the medium model take reasoning queries.
    expect(chooseModel(fit, [0.2, 1], { query: '', candidates, threshold: 0.3 }).model).toBe('medium');
    expect(chooseModel(fit, [0.2, 1], { query: '', candidates, threshold: 0 }).model).toBe('small');
  });

  it('in shadow mode returns the strongest and says what it would have chosen', () => {
    const c = chooseModel(fit, [0.2, 1], { query: '', candidates, threshold: 0.3, shadow: true });
    expect(c).toMatchObject({ model: 'large', chosen: 'medium', strongest: 'large', shadow: true });
  });

  it('falls back to the dearest candidate without a fit or a candidate the fit knows', () => {
    expect(chooseModel(null, undefined, { query: '', candidates, threshold: 0.45 })).toMatchObject({ model: 'large', strongest: 'large', cluster: null, fitVersion: null, fallback: 'no_fit' });
    expect(chooseModel(fit, [1, 0], { query: '', candidates: [{ model: 'new', costPerMTok: 1 }, { model: 'newer', costPerMTok: 2 }], threshold: 0.4 })).toMatchObject({
      model: 'newer',
      fallback: 'no_known_candidate',
      fitVersion: 3,
    });
    expect(() => chooseModel(fit, [1, 0], { query: '', candidates, threshold: 0.6 })).toThrow(/threshold/);
    expect(() => chooseModel(fit, [1, 0], { query: '', candidates: [], threshold: 0.4 })).toThrow(/candidates/);
  });

  it('reads a review as a tie with the reviewer (approve) or a loss to them (edit)', () => {
    expect(reviewPreference({ decision: 'approve', model: 'small', query: 'q', taskId: 't' })).toEqual({ query: 'q', winner: 'small', loser: 'human', tie: true, source: 'review', taskId: 't' });
    expect(reviewPreference({ decision: 'edit', model: 'small', query: 'q', taskId: 't' })).toMatchObject({ winner: 'human', loser: 'small', source: 'review' });
  });
});
