// The gate: this run's metrics against the committed baseline, each held to its kind's tolerance
// (tolerances.ts). Pure, so a unit test can feed it a regressed result and see it fail.
import type { EvalResults, RecordedMetric } from './results.js';
import { TOLERANCES, type MetricKind, type Tolerance } from './tolerances.js';

export type RowStatus = 'ok' | 'improved' | 'regressed' | 'new' | 'missing' | 'no value';

export interface ComparisonRow {
  id: string;
  suite: string;
  baseline: number | null | undefined;
  now: number | null | undefined;
  /** now − baseline, when both are numbers. */
  delta: number | undefined;
  better: RecordedMetric['better'];
  tolerance: number;
  status: RowStatus;
  ok: boolean;
}

/** Below any labeled item's weight in any suite: only float noise in a sum is this small. */
const EPSILON = 1e-9;

/**
 * Every metric of the suites that ran, against the baseline. A metric the baseline has but the
 * run does not is a failure (a gate that silently loses a metric no longer gates it); a metric
 * the baseline lacks passes as `new` until `--update` records it.
 */
export function compareResults(
  baseline: EvalResults | undefined,
  current: EvalResults,
  suitesRun: readonly string[],
  tolerances: Record<MetricKind, Tolerance> = TOLERANCES,
): ComparisonRow[] {
  // In the run's order (suites, then each suite's own), the baseline's lost metrics last.
  const ids = new Set([...Object.keys(current.metrics), ...Object.entries(baseline?.metrics ?? {}).filter(([, m]) => suitesRun.includes(m.suite)).map(([id]) => id)]);
  return [...ids].map((id) => compareOne(id, baseline?.metrics[id], current.metrics[id], tolerances));
}

function compareOne(id: string, before: RecordedMetric | undefined, now: RecordedMetric | undefined, tolerances: Record<MetricKind, Tolerance>): ComparisonRow {
  const ref = (now ?? before)!;
  const tolerance = tolerances[ref.kind].absolute;
  const row = { id, suite: ref.suite, baseline: before?.value, now: now?.value, better: ref.better, tolerance, delta: undefined };
  if (!now) return { ...row, status: 'missing', ok: false };
  if (!before) return { ...row, status: 'new', ok: true };
  // A number that turned into none (a denominator gone to 0) is a failure; the other way is new.
  if (now.value === null) return { ...row, status: before.value === null ? 'ok' : 'no value', ok: before.value === null };
  if (before.value === null) return { ...row, status: 'new', ok: true };
  const delta = now.value - before.value;
  const worse = now.better === 'higher' ? -delta : delta;
  const status: RowStatus = worse > tolerance + EPSILON ? 'regressed' : worse < -EPSILON ? 'improved' : 'ok';
  return { ...row, delta, status, ok: status !== 'regressed' };
}

export const passed = (rows: readonly ComparisonRow[]) => rows.every((r) => r.ok);
