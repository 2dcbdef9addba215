// The gateway's allow-lists, budgets and rate limits on real Postgres (PGlite and native),
// through the real `openai` client and the scripted model server: refusals name the model or
// the limit, concurrent calls never together overspend a budget, a reservation counts once
// per attempt key, and a rate limit holds across two gateways on one database.
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimatePromptTokens, ModelGateway } from '../../activities/gateway/gateway.js';
import { attemptKey, reserve, setAccessList, setBudget, setRateLimit, settle } from '../../activities/gateway/limits/index.js';
import { BUDGET_EXCEEDED, MODEL_NOT_ALLOWED, RATE_LIMITED } from '../../contracts/gateway-limits.js';
import type { Services } from '../../infra/services.js';
import { ensureTestTenant, testConfig, testLog, testServices, uniqueId, type DbKind } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

const ask = { messages: [{ role: 'user' as const, content: 'What is the restocking fee?' }], maxTokens: 1000 };
/** What one call of `ask` reserves on `primary` ($2 / $8 per million tokens), and costs: the scripted usage is the estimate. */
const PROMPT_TOKENS = estimatePromptTokens(ask);
const CALL_USD = (PROMPT_TOKENS * 2 + 1000 * 8) / 1e6;

async function refusal(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe.each<DbKind>(['pglite', 'native'])('gateway limits on %s', (kind) => {
  let server: ScriptedModelServer;
  let services: Services;

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary', 'secondary'] });
    // Every call reports exactly what it reserved, a few milliseconds late so calls overlap.
    server.onChat(() => ({ content: 'fifteen percent', usage: { promptTokens: PROMPT_TOKENS, completionTokens: 1000 }, delayMs: 5 }));
    services = await testServices(kind);
  });
  afterAll(async () => {
    await server.close();
    await services.close();
  });

  function gateway() {
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      GATEHOUSE_CHAT_MODEL: 'primary',
      GATEHOUSE_MODEL_FALLBACKS: 'secondary',
      GATEHOUSE_MODELS: JSON.stringify([
        { name: 'primary', inputPricePerMTok: 2, outputPricePerMTok: 8 },
        { name: 'secondary', inputPricePerMTok: 1, outputPricePerMTok: 4 },
      ]),
    });
    return new ModelGateway({ registry: config.models.registry, chain: config.models.chain, db: services.db, log: testLog });
  }

  async function tenant() {
    const id = uniqueId('lim');
    await ensureTestTenant(services, id);
    return id;
  }

  async function spend(tenantId: string) {
    const { rows } = await services.db.query<{ spent: string; tokens: string; reserved: string }>(
      'SELECT spent_usd AS spent, spent_tokens AS tokens, reserved_usd AS reserved FROM budget_spend WHERE tenant_id = $1',
      [tenantId],
    );
    return rows.map((r) => ({ spent: Number(r.spent), tokens: Number(r.tokens), reserved: Number(r.reserved) }));
  }

  it('refuses a model the allow-list leaves out, naming it, and skips a fallback it leaves out', async () => {
    const tenantId = await tenant();
    await setAccessList(services.db, tenantId, { scope: 'tenant', models: ['primary', 'secondary'] });
    await setAccessList(services.db, tenantId, { scope: 'key', subject: 'k1', models: ['secondary'] });
    const gw = gateway();

    const err = await refusal(gw.chat({ ...ask, model: 'primary' }, { tenantId, keyId: 'k1' }));
    expect(err.type).toBe(MODEL_NOT_ALLOWED);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('"primary"');
    expect(err.details).toEqual([{ model: 'primary', list: 'access:key:k1' }]);

    // No model named: the chain starts at the first one the caller may use.
    expect((await gw.chat(ask, { tenantId, keyId: 'k1' })).model).toBe('secondary');
    // Another key of the tenant is bound by the tenant's list only.
    expect((await gw.chat({ ...ask, model: 'primary' }, { tenantId, keyId: 'k2' })).model).toBe('primary');
  });

  it('50 concurrent calls against a small budget spend no more than it', async () => {
    const tenantId = await tenant();
    const limit = 0.05;
    await setBudget(services.db, tenantId, { scope: 'key', subject: '*', period: 'day', usd: limit, tokens: null });
    const gw = gateway();
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => gw.chat({ ...ask, model: 'primary' }, { tenantId, keyId: 'admin-key' })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ApplicationFailure] : []));
    expect(ok).toHaveLength(Math.floor(limit / CALL_USD));
    expect(refused.every((e) => e.type === BUDGET_EXCEEDED && (e.details?.[0] as { limit: string }).limit === 'budget:key:admin-key:day:usd')).toBe(true);
    const [row] = await spend(tenantId);
    expect(row!.spent).toBeLessThanOrEqual(limit);
    expect(row!.spent).toBeCloseTo(ok.length * CALL_USD, 6);
    expect(row!.reserved).toBe(0);
  });

  it('nested budgets: a task budget refuses within a roomy tenant budget, with no reset for a total', async () => {
    const tenantId = await tenant();
    await setBudget(services.db, tenantId, { scope: 'tenant', period: 'month', usd: 100, tokens: null });
    await setBudget(services.db, tenantId, { scope: 'task', subject: '*', period: 'total', usd: null, tokens: 2 * (PROMPT_TOKENS + 1000) });
    const gw = gateway();
    const ctx = { tenantId, taskId: 'task_nested', keyId: 'k' };
    await gw.chat(ask, ctx);
    await gw.chat(ask, { ...ctx, taskId: 'task_nested.sub_1' }); // a sub-task counts toward its task
    const err = await refusal(gw.chat(ask, ctx));
    expect(err.type).toBe(BUDGET_EXCEEDED);
    expect(err.details).toEqual([{ limit: 'budget:task:task_nested:total:tokens', retryAfterSeconds: null }]);
    // Another task has a budget of its own.
    await gw.chat(ask, { ...ctx, taskId: 'task_other' });
  });

  it('reserving and settling twice under one attempt key counts once', async () => {
    const tenantId = await tenant();
    await setBudget(services.db, tenantId, { scope: 'tenant', period: 'day', usd: 1, tokens: null });
    const budgets = [{ scope: 'tenant' as const, subject: '', period: 'day' as const, usd: 1, tokens: null, counted: '' }];
    const key = { id: uniqueId('req') };
    const estimate = { usd: 0.1, tokens: 100 };
    expect(await reserve(services.db, { tenantId, key, estimate, budgets, rates: [] })).toEqual({ ok: true });
    expect(await reserve(services.db, { tenantId, key, estimate, budgets, rates: [] })).toEqual({ ok: true });
    expect(await spend(tenantId)).toEqual([{ spent: 0, tokens: 0, reserved: 0.1 }]);
    await settle(services.db, key.id, { usd: 0.04, tokens: 40 });
    await settle(services.db, key.id, { usd: 0.04, tokens: 40 });
    expect(await spend(tenantId)).toEqual([{ spent: 0.04, tokens: 40, reserved: 0 }]);
  });

  it("a retried activity attempt releases the earlier attempt's hold and counts its own call once", async () => {
    const tenantId = await tenant();
    await setBudget(services.db, tenantId, { scope: 'tenant', period: 'day', usd: 1, tokens: null });
    const budgets = [{ scope: 'tenant' as const, subject: '', period: 'day' as const, usd: 1, tokens: null, counted: '' }];
    const info = { activityId: '7', workflowExecution: { workflowId: uniqueId('task'), runId: 'run-1' } };
    // Attempt 1 reserves, then its worker dies before the call settles.
    await new MockActivityEnvironment({ ...info, attempt: 1 }).run(async () => {
      const key = attemptKey();
      expect(key.id).toBe(`${info.workflowExecution.workflowId}/run-1/7/1/0`);
      await reserve(services.db, { tenantId, key, estimate: { usd: 0.5, tokens: 500 }, budgets, rates: [] });
    });
    expect(await spend(tenantId)).toEqual([{ spent: 0, tokens: 0, reserved: 0.5 }]);
    // Attempt 2 makes the call through the gateway: one call counted, nothing left held.
    await new MockActivityEnvironment({ ...info, attempt: 2 }).run(() => gateway().chat(ask, { tenantId }));
    const [row] = await spend(tenantId);
    expect(row).toEqual({ spent: expect.closeTo(CALL_USD, 8), tokens: PROMPT_TOKENS + 1000, reserved: 0 });
  });

  it('a rate limit holds across two gateways on one database, with Retry-After and its name', async () => {
    const tenantId = await tenant();
    await setRateLimit(services.db, tenantId, { scope: 'key', subject: '*', rpm: 5, tpm: null });
    // One fixed minute window: do not start at its very end.
    if (new Date().getUTCSeconds() > 54) await new Promise((r) => setTimeout(r, 6_000));
    const [a, b] = [gateway(), gateway()];
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).chat(ask, { tenantId, keyId: 'busy' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ApplicationFailure] : []));
    for (const e of refused) {
      expect(e.type).toBe(RATE_LIMITED);
      const details = e.details?.[0] as { limit: string; retryAfterSeconds: number };
      expect(details.limit).toBe('rate:key:busy:rpm');
      expect(details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(details.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
    // Another key has a window of its own.
    await a.chat(ask, { tenantId, keyId: 'quiet' });
  });
});
