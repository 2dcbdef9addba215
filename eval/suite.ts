// What an evaluation suite is: a module that runs one labeled evaluation and returns its metrics.
// Apart from eval/run.ts, which loads every suite and so must not be imported by them.
import type { Embedder } from '../activities/retrieval/embedder.js';
import type { MetricKind } from './tolerances.js';

export interface EvalContext {
  log(message: string): void;
  /** all-MiniLM-L6-v2 from .tools/models, loaded once per run and shared by the suites that embed. */
  embedder(): Promise<Embedder>;
}

export interface Metric {
  /** `<suite>.<what>`, stable across runs: the baseline is keyed by it. */
  id: string;
  value: number;
  /** Which way is better: a regression is a move the other way by more than the tolerance. */
  better: 'higher' | 'lower';
  /** What the number depends on, which decides its tolerance (tolerances.ts). */
  kind: MetricKind;
}

export interface SuiteResult {
  metrics: Metric[];
  /** What explains the numbers (misses, per-question outcomes): kept in latest.json, never compared. */
  details?: unknown;
}

export interface Suite {
  name: string;
  /** One line: the labeled set and what is measured on it. */
  title: string;
  /** In `npm run eval -- --ci`, the subset CI runs (≤ 3 minutes on a 2-core machine). */
  ci: boolean;
  /** Environment variables the suite reads its data from: without them it is skipped (named, an error). */
  requires?: string[];
  run(ctx: EvalContext): Promise<SuiteResult>;
}

/** A metric declared in a suite: the suite's name is prefixed to its id. */
export function metric(suite: string, name: string, value: number, better: Metric['better'], kind: MetricKind): Metric {
  return { id: `${suite}.${name}`, value, better, kind };
}
