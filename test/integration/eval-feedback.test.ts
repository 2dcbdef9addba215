// The evaluation's feedback suite (eval/suites/feedback.ts) on a real database: it reads a
// tenant's ratings by prompt version, gates only the versions with enough of them, never another
// tenant's, and the gate fails a version whose mean fell beyond the feedback tolerance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareResults, passed } from '../../eval/compare.js';
import { recordMetrics } from '../../eval/results.js';
import { feedback, MIN_RATINGS } from '../../eval/suites/feedback.js';
import type { Services } from '../../infra/services.js';
import { databaseUrl, ensureTestTenant, testServices, uniqueId } from '../support/harness.js';

describe('the feedback evaluation', () => {
  let services: Services;
  const tenant = uniqueId('acme');
  const other = uniqueId('globex');
  const logged: string[] = [];
  const ctx = { log: (m: string) => logged.push(m), embedder: () => Promise.reject(new Error('the feedback suite embeds nothing')) };

  async function rate(tenantId: string, version: number, scores: number[]) {
    for (const [i, score] of scores.entries()) {
      await services.db.query(
        `INSERT INTO feedback (tenant_id, task_id, turn, score, rating, source, model, prompt_name, prompt_version)
         VALUES ($1, $2, 1, $3, $4, 'end_user', 'local', 'answer.system', $5)`,
        [tenantId, `task_${version}_${i}`, score, JSON.stringify({ thumbs: score >= 0.5 ? 'up' : 'down' }), version],
      );
    }
  }

  beforeAll(async () => {
    services = await testServices('native');
    await ensureTestTenant(services, tenant);
    await ensureTestTenant(services, other);
    // Version 1: 30 ratings, 24 up. Version 2: too few to gate. The other tenant: all down.
    await rate(tenant, 1, [...Array(24).fill(1), ...Array(6).fill(0)]);
    await rate(tenant, 2, [1, 1, 0]);
    await rate(other, 1, Array(40).fill(0));
    process.env.GATEHOUSE_EVAL_DATABASE_URL = databaseUrl('native');
    process.env.GATEHOUSE_EVAL_TENANT = tenant;
  });
  afterAll(async () => {
    delete process.env.GATEHOUSE_EVAL_DATABASE_URL;
    delete process.env.GATEHOUSE_EVAL_TENANT;
    await services?.close();
  });

  it("gates each version with enough of the tenant's ratings, and lists the rest", async () => {
    const result = await feedback.run(ctx);
    expect(MIN_RATINGS).toBe(30);
    expect(result.metrics).toEqual([{ id: 'feedback.answer.system@1.mean_score', value: 0.8, better: 'higher', kind: 'feedback' }]);
    expect(result.details).toMatchObject({ groups: [{ label: 'answer.system@1', count: 30 }, { label: 'answer.system@2', count: 3 }] });
    expect(logged.join('\n')).toMatch(/answer\.system@2: 3 ratings/);
  });

  it("fails the gate when a version's mean fell by more than the tolerance, not by less", async () => {
    const baseline = { metrics: recordMetrics('feedback', await feedback.run(ctx)) };
    await rate(tenant, 1, Array(10).fill(0)); // 24 up of 40: the mean falls from 0.8 to 0.6
    const fallen = compareResults(baseline, { metrics: recordMetrics('feedback', await feedback.run(ctx)) }, ['feedback']);
    expect(fallen).toMatchObject([{ id: 'feedback.answer.system@1.mean_score', baseline: 0.8, now: 0.6, status: 'regressed' }]);
    expect(passed(fallen)).toBe(false);
    await rate(tenant, 1, Array(20).fill(1)); // 44 of 60: 0.733, within 0.1 of 0.8
    expect(passed(compareResults(baseline, { metrics: recordMetrics('feedback', await feedback.run(ctx)) }, ['feedback']))).toBe(true);
  });
});
