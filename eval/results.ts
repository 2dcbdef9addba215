// The shape of eval/results/baseline.json (committed) and latest.json (each run's): every
// metric by id. No dates or durations in the baseline, so `--update` with unchanged code
// rewrites it byte for byte and a diff of it is a diff of behaviour.
import type { Metric, SuiteResult } from './suite.js';
import type { MetricKind } from './tolerances.js';

export interface RecordedMetric {
  suite: string;
  /** null where the run produced no number (NaN: an empty denominator). */
  value: number | null;
  better: Metric['better'];
  kind: MetricKind;
}

export interface EvalResults {
  metrics: Record<string, RecordedMetric>;
}

export function recordMetrics(suite: string, result: SuiteResult): EvalResults['metrics'] {
  const out: EvalResults['metrics'] = {};
  for (const m of result.metrics) {
    if (!m.id.startsWith(`${suite}.`)) throw new Error(`metric ${m.id} of suite ${suite} must be named ${suite}.<what>`);
    if (out[m.id]) throw new Error(`suite ${suite} reports ${m.id} twice`);
    out[m.id] = { suite, value: Number.isFinite(m.value) ? m.value : null, better: m.better, kind: m.kind };
  }
  return out;
}

/**
 * The baseline after an `--update` of some suites: theirs replaced, every other known suite's
 * kept, in the suites' order and each suite's own order of metrics (so a rewrite diffs cleanly).
 */
export function updatedBaseline(previous: EvalResults | undefined, current: EvalResults, suitesRun: readonly string[], suiteOrder: readonly string[]): EvalResults {
  const entries = suiteOrder.flatMap((suite) => Object.entries((suitesRun.includes(suite) ? current : previous)?.metrics ?? {}).filter(([, m]) => m.suite === suite));
  return { metrics: Object.fromEntries(entries) };
}
