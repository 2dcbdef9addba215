// Kinds of query, found without labels: spherical k-means over query embeddings. Vectors are
// L2-normalised, so the nearest centroid by cosine is the one with the largest dot product,
// and each centroid is the normalised mean of its members. Seeding is k-means++ with a seeded
// PRNG: the same queries in the same order give the same clusters, so a refit over unchanged
// preferences reproduces the stored model and two processes agree on a query's cluster.

export interface ClusterOptions {
  /** Number of clusters; default `defaultClusterCount(n)`. */
  k?: number;
  seed?: number;
  /** Seeded starts to keep the best of (default 5). */
  restarts?: number;
  maxIterations?: number;
}

export interface Clustering {
  centroids: Float32Array[];
  /** Each input vector's cluster. */
  assignments: number[];
  sizes: number[];
}

/**
 * Few clusters, each with enough preferences to say something: about 20 per cluster, at most 8.
 * A cluster with too few is shrunk toward the pooled fit anyway (bradley-terry.ts's prior).
 */
export function defaultClusterCount(n: number): number {
  return Math.max(1, Math.min(8, Math.floor(n / 20)));
}

export function normalised(v: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(v);
  let sum = 0;
  for (const x of out) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}

/**
 * The best of `restarts` seeded runs (lowest total cosine distance to the centroids): one
 * k-means++ start can settle in a poor local optimum that merges two kinds of query.
 */
export function kMeans(vectors: readonly ArrayLike<number>[], opts: ClusterOptions = {}): Clustering {
  const points = vectors.map(normalised);
  if (points.length === 0) return { centroids: [], assignments: [], sizes: [] };
  const random = mulberry32(opts.seed ?? 0x5eed);
  let best: (Clustering & { cost: number }) | undefined;
  for (let run = 0; run < Math.max(1, opts.restarts ?? 5); run++) {
    const c = kMeansOnce(points, opts, random);
    if (!best || c.cost < best.cost - 1e-9) best = c;
  }
  const { cost: _cost, ...clustering } = best!;
  return clustering;
}

function kMeansOnce(points: Float32Array[], opts: ClusterOptions, random: () => number): Clustering & { cost: number } {
  const n = points.length;
  const k = Math.max(1, Math.min(n, opts.k ?? defaultClusterCount(n)));

  // k-means++: each next seed drawn with probability proportional to its distance from the
  // nearest seed so far (cosine distance 1 - dot, which for unit vectors is ½ the squared
  // Euclidean distance, the quantity k-means++ weighs by).
  const centroids: Float32Array[] = [points[Math.floor(random() * n)]!];
  const nearest = points.map((p) => 1 - dot(p, centroids[0]!));
  while (centroids.length < k) {
    const total = nearest.reduce((s, d) => s + Math.max(0, d), 0);
    const seed = points[total > 0 ? weightedPick(nearest, random() * total) : centroids.length]!; // total 0: every point is a seed already
    centroids.push(seed);
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i]!, 1 - dot(points[i]!, seed));
  }

  let assignments = points.map((p) => nearestCentroid(centroids, p));
  for (let iter = 0; iter < (opts.maxIterations ?? 100); iter++) {
    for (let c = 0; c < k; c++) {
      const sum = new Float32Array(points[0]!.length);
      let members = 0;
      for (let i = 0; i < n; i++) {
        if (assignments[i] !== c) continue;
        members++;
        const p = points[i]!;
        for (let d = 0; d < sum.length; d++) sum[d]! += p[d]!;
      }
      // An emptied cluster keeps its centroid: deterministic, and it may win points back.
      if (members > 0) centroids[c] = normalised(sum);
    }
    const next = points.map((p) => nearestCentroid(centroids, p));
    const moved = next.some((a, i) => a !== assignments[i]);
    assignments = next;
    if (!moved) break;
  }
  const sizes = new Array<number>(k).fill(0);
  for (const a of assignments) sizes[a]!++;
  const cost = points.reduce((sum, p, i) => sum + 1 - dot(p, centroids[assignments[i]!]!), 0);
  return { centroids, assignments, sizes, cost };
}

/** The index where the running sum of (non-negative) weights reaches r. */
function weightedPick(weights: number[], r: number): number {
  for (let i = 0; i < weights.length - 1; i++) {
    r -= Math.max(0, weights[i]!);
    if (r <= 0) return i;
  }
  return weights.length - 1;
}

/** The centroid closest by cosine (ties: the lowest index). */
export function nearestCentroid(centroids: readonly ArrayLike<number>[], vector: ArrayLike<number>): number {
  const v = normalised(vector);
  let best = 0;
  let bestDot = -Infinity;
  centroids.forEach((c, i) => {
    const d = dot(v, c);
    if (d > bestDot) {
      bestDot = d;
      best = i;
    }
  });
  return best;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** A small, fast, seedable PRNG (Tommy Ettinger's mulberry32): k-means++ must not use Math.random. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
