// Bradley–Terry strengths from weighted pairwise comparisons, fitted with the MM algorithm
// (Hunter 2004, "MM algorithms for generalized Bradley–Terry models"): each player i has a
// strength s_i > 0 and P(i beats j) = s_i / (s_i + s_j). Pure: no I/O, deterministic.
//
// Ties count as half a win to each side. That keeps the model to one parameter per player
// (no Davidson tie parameter to fit from few ties) and gives P(i beats j) a plain reading:
// i's expected score against j, where a win scores 1 and a tie ½ — exactly ½ when the two
// are equally good.
//
// The prior: `prior` pseudo-comparisons between every pair, split by `priorP(i, j)` (equal
// halves unless given). With no data the fit is that prior; with little data it moves toward
// the data only as far as the evidence carries it. It also makes the comparison graph
// connected, which the MM iteration needs to converge to finite strengths.

export interface Comparison {
  winner: string;
  loser: string;
  /** A tie: half a win to each. */
  tie?: boolean;
  /** How much this comparison counts (default 1). */
  weight?: number;
}

export interface FitOptions {
  /** Pseudo-comparisons added between every pair of players (default 1). */
  prior?: number;
  /** The prior's P(i beats j) for each pair (default ½: shrink toward equal). */
  priorP?: (i: string, j: string) => number;
  maxIterations?: number;
  tolerance?: number;
}

/** Strengths with geometric mean 1, so log-strengths are centred on 0. */
export type Strengths = Record<string, number>;

export function fitBradleyTerry(players: readonly string[], comparisons: readonly Comparison[], opts: FitOptions = {}): Strengths {
  const names = [...new Set(players)].sort();
  const n = names.length;
  if (n === 0) return {};
  const index = new Map(names.map((p, i) => [p, i]));
  const prior = opts.prior ?? 1;
  // wins[i][j]: weighted wins of i over j, ties and pseudo-comparisons included.
  const wins = names.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const p = opts.priorP ? clamp01(opts.priorP(names[i]!, names[j]!)) : 0.5;
      wins[i]![j]! += prior * p;
      wins[j]![i]! += prior * (1 - p);
    }
  }
  for (const c of comparisons) {
    const w = c.weight ?? 1;
    const a = index.get(c.winner);
    const b = index.get(c.loser);
    if (a === undefined || b === undefined || a === b || !(w > 0)) continue;
    if (c.tie) {
      wins[a]![b]! += w / 2;
      wins[b]![a]! += w / 2;
    } else wins[a]![b]! += w;
  }
  const totalWins = wins.map((row) => row.reduce((s, x) => s + x, 0));
  let s = new Float64Array(n).fill(1);
  const maxIterations = opts.maxIterations ?? 10_000;
  const tolerance = opts.tolerance ?? 1e-10;
  for (let iter = 0; iter < maxIterations; iter++) {
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let denominator = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const games = wins[i]![j]! + wins[j]![i]!;
        if (games > 0) denominator += games / (s[i]! + s[j]!);
      }
      // A player with no games at all (only possible with prior 0) keeps its strength.
      next[i] = denominator > 0 ? totalWins[i]! / denominator : s[i]!;
      // Zero wins would drive a strength to 0 (and log to -∞); a tiny floor keeps it finite.
      if (!(next[i]! > 1e-12)) next[i] = 1e-12;
    }
    normalise(next);
    let change = 0;
    for (let i = 0; i < n; i++) change = Math.max(change, Math.abs(Math.log(next[i]!) - Math.log(s[i]!)));
    s = next;
    if (change < tolerance) break;
  }
  return Object.fromEntries(names.map((p, i) => [p, s[i]!]));
}

/** P(a beats b), i.e. a's expected score against b (a tie scores ½). Unknown players are equal to anyone. */
export function winProbability(strengths: Strengths, a: string, b: string): number {
  const sa = strengths[a] ?? 1;
  const sb = strengths[b] ?? 1;
  return sa / (sa + sb);
}

function normalise(s: Float64Array): void {
  let logSum = 0;
  for (const x of s) logSum += Math.log(x);
  const scale = Math.exp(logSum / s.length);
  for (let i = 0; i < s.length; i++) s[i]! /= scale;
}

function clamp01(p: number): number {
  return Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : 0.5;
}
