// The tool cache in runAgent on a real Temporal dev server and PGlite, with the offline planner
// as the model: a second task asking the same of the tenant's tables is answered from the first
// one's query_sql result, and its tool step says so (outcome and age); a third task after a write
// action runs the query again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExactCache } from '../../activities/cache/exact.js';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import type { Services } from '../../infra/services.js';
import { ADMIN, agentInput, decide, startAgent, waitForPending } from '../support/agents.js';
import { startTestWorker, testConfig, testServices, uniqueId, type TestWorker } from '../support/harness.js';

describe('runAgent with the tool cache', () => {
  let services: Services;
  let worker: TestWorker;
  const tenant = uniqueId('t');

  beforeAll(async () => {
    const config = testConfig({ GATEHOUSE_CACHE: 'tool' });
    services = await testServices('pglite', config);
    await seedDemoDomain(services.db, tenant);
    worker = await startTestWorker({ ...services, cache: new ExactCache(services.db, config.cache!) }, config);
  });
  afterAll(async () => {
    await worker?.stop();
    await services?.close();
  });

  const run = async (input: string) => (await startAgent(worker.client, worker.taskQueue, agentInput(tenant, input, { tools: ['query_sql'] }))).result();
  const sqlStep = (r: Awaited<ReturnType<typeof run>>) => r.steps.find((s) => s.name === 'tool:query_sql')!;

  it("serves a second task's identical read from the first one's result, and a write evicts it", async () => {
    const first = await run('How many orders per product category?');
    expect(sqlStep(first).detail).toMatchObject({ ok: true, cache: { layer: 'tool', outcome: 'stored' } });
    const second = await run('How many orders per product category?');
    expect(sqlStep(second).detail).toMatchObject({ ok: true, cache: { layer: 'tool', outcome: 'hit', ageSeconds: expect.any(Number) } });
    expect(second.answer).toBe(first.answer);
    // A read about a named customer is that task's alone (the name is masked: a placeholder).
    const named = await run("Show me John Doe's orders");
    expect(sqlStep(named).detail).toMatchObject({ cache: { outcome: 'uncacheable', reason: expect.stringMatching(/PII/) } });

    // A refund executed for the tenant: its reads run again.
    const refund = await startAgent(worker.client, worker.taskQueue, agentInput(tenant, "Refund Emily Doe's last order", { tools: ['query_sql', 'issue_refund'] }));
    for (const p of await waitForPending(refund, 1)) await decide(refund, p, { approver: ADMIN(tenant) });
    await refund.result();
    const third = await run('How many orders per product category?');
    expect(sqlStep(third).detail).toMatchObject({ cache: { outcome: 'stored' } });
  });
});
