// The evaluation gate (eval/compare.ts): a regressed result fails it, within tolerance passes, and
// the guardrails suite — pure code, run here for real — matches the committed baseline exactly.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareResults, passed } from '../../eval/compare.js';
import { recordMetrics, updatedBaseline, type EvalResults, type RecordedMetric } from '../../eval/results.js';
import { guardrails } from '../../eval/suites/guardrails.js';
import { formatComparison } from '../../eval/table.js';
import { TOLERANCES } from '../../eval/tolerances.js';

const m = (suite: string, value: number | null, over: Partial<RecordedMetric> = {}): RecordedMetric => ({ suite, value, better: 'higher', kind: 'exact', ...over });
const results = (metrics: Record<string, RecordedMetric>): EvalResults => ({ metrics });

const baseline = results({
  'guardrails.pii.recall': m('guardrails', 0.9784),
  'cache.false_hit_rate': m('cache', 0.0096, { better: 'lower', kind: 'embedding' }),
  'retrieval.vector.ndcg@10': m('retrieval', 0.585, { kind: 'ann' }),
});

describe('compareResults', () => {
  it('fails a metric that fell by any amount when its tolerance is 0', () => {
    const rows = compareResults(baseline, results({ 'guardrails.pii.recall': m('guardrails', 0.9784 - 1 / 3000) }), ['guardrails']);
    expect(rows).toMatchObject([{ id: 'guardrails.pii.recall', status: 'regressed', ok: false }]);
    expect(passed(rows)).toBe(false);
    expect(formatComparison(rows)).toMatch(/guardrails\.pii\.recall.*0\.9784.*0\.9781.*−0\.0003.*REGRESSED/);
  });

  it('fails a lower-is-better metric that rose, and passes one that fell', () => {
    const worse = compareResults(baseline, results({ 'cache.false_hit_rate': m('cache', 0.0192, { better: 'lower', kind: 'embedding' }) }), ['cache']);
    expect(worse[0]).toMatchObject({ status: 'regressed', ok: false });
    const better = compareResults(baseline, results({ 'cache.false_hit_rate': m('cache', 0, { better: 'lower', kind: 'embedding' }) }), ['cache']);
    expect(better[0]).toMatchObject({ status: 'improved', ok: true });
  });

  it("holds an approximate metric to its kind's tolerance, and no further", () => {
    const tol = TOLERANCES.ann.absolute;
    expect(tol).toBeGreaterThan(0);
    const within = compareResults(baseline, results({ 'retrieval.vector.ndcg@10': m('retrieval', 0.585 - tol / 2, { kind: 'ann' }) }), ['retrieval']);
    expect(within[0]).toMatchObject({ status: 'ok', ok: true, tolerance: tol });
    const beyond = compareResults(baseline, results({ 'retrieval.vector.ndcg@10': m('retrieval', 0.585 - tol - 0.001, { kind: 'ann' }) }), ['retrieval']);
    expect(beyond[0]).toMatchObject({ status: 'regressed', ok: false });
  });

  it('fails a metric the baseline has and the run lost, or that has no value any more', () => {
    const lost = compareResults(baseline, results({}), ['guardrails']);
    expect(lost).toMatchObject([{ id: 'guardrails.pii.recall', status: 'missing', ok: false }]);
    const nan = compareResults(baseline, results(recordMetrics('guardrails', { metrics: [{ id: 'guardrails.pii.recall', value: NaN, better: 'higher', kind: 'exact' }] })), ['guardrails']);
    expect(nan[0]).toMatchObject({ status: 'no value', ok: false });
  });

  it('compares only the suites that ran, and passes a metric without a baseline as new', () => {
    const rows = compareResults(baseline, results({ 'routing.accuracy': m('routing', 0.8) }), ['routing']);
    expect(rows).toEqual([expect.objectContaining({ id: 'routing.accuracy', status: 'new', ok: true })]);
  });
});

describe('updatedBaseline', () => {
  it("replaces the suites that ran and keeps the others', in the suites' order", () => {
    const next = updatedBaseline(baseline, results({ 'cache.false_hit_rate': m('cache', 0, { better: 'lower' }) }), ['cache'], ['guardrails', 'cache', 'retrieval']);
    expect(Object.keys(next.metrics)).toEqual(['guardrails.pii.recall', 'cache.false_hit_rate', 'retrieval.vector.ndcg@10']);
    expect(next.metrics['cache.false_hit_rate']!.value).toBe(0);
  });
});

describe('the guardrails suite against the committed baseline', () => {
  it('reproduces it exactly, and a drop of less than one labeled PII span fails the gate', async () => {
    const committed = JSON.parse(readFileSync(new URL('../../eval/results/baseline.json', import.meta.url), 'utf8')) as EvalResults;
    const now = results(recordMetrics('guardrails', await guardrails.run({ log: () => undefined, embedder: () => Promise.reject(new Error('not used')) })));
    expect(passed(compareResults(committed, now, ['guardrails']))).toBe(true);
    for (const [id, r] of Object.entries(now.metrics)) expect(r.value, id).toBe(committed.metrics[id]!.value);

    const recall = now.metrics['guardrails.pii.PERSON.recall']!;
    const oneMiss = results({ ...now.metrics, 'guardrails.pii.PERSON.recall': { ...recall, value: recall.value! - 0.001 } });
    const rows = compareResults(committed, oneMiss, ['guardrails']);
    expect(rows.filter((r) => !r.ok).map((r) => r.id)).toEqual(['guardrails.pii.PERSON.recall']);
  });
});
