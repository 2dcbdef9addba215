// Allow-lists, budgets, rate limits and usage through the HTTP API on the real stack (Temporal
// dev server, PGlite, the scripted model): a model off the list is a 403 naming it, at the API
// and — for a task that names none — at the gateway for the task's own calls; a used-up budget
// or rate limit is a 429 with Retry-After and the limit's name; GET /v1/usage groups spend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-harness.js';

describe('gateway limits over the API', () => {
  let api: TestApi;
  const ask = { messages: [{ role: 'user' as const, content: 'How do I clear an E-102 jam?' }], maxTokens: 100 };

  beforeAll(async () => {
    api = await startTestApi();
    const ingest = await api.call('POST', '/v1/documents', {
      key: api.keys.admin,
      body: { collection: 'manuals', documents: [{ id: 'jams', title: 'Paper jams', text: 'To clear an E-102 jam, open the rear access door and lower the green levers.' }] },
    });
    for (let i = 0; i < 300; i++) {
      const r = await api.call('GET', `/v1/ingestions/${ingest.json.ingestionId}`, { key: api.keys.admin });
      if (r.json.status !== 'running') break;
      await new Promise((res) => setTimeout(res, 100));
    }
  });
  afterAll(() => api?.close());

  async function newKey(body: Record<string, unknown> = {}) {
    const r = await api.call('POST', '/v1/api-keys', { key: api.keys.admin, body: { roles: ['tasks:write', 'usage:read'], backend: true, ...body } });
    expect(r.status).toBe(201);
    return r.json as { id: string; key: string };
  }

  async function result(taskId: string, key: string) {
    return (await api.call('GET', `/v1/tasks/${taskId}/result?wait=20`, { key })).json;
  }

  it('refuses a model off the allow-list with a 403 naming it, at the API and inside a task', async () => {
    const billing = await newKey({ application: 'billing' });
    const set = await api.call('PUT', '/v1/gateway/access', { key: api.keys.admin, body: { scope: 'application', subject: 'billing', models: ['cheap-model'] } });
    expect(set).toMatchObject({ status: 200, json: { lists: [{ scope: 'application', subject: 'billing', models: ['cheap-model'] }] } });
    // Only admins manage access.
    expect((await api.call('GET', '/v1/gateway/access', { key: billing.key })).status).toBe(403);

    const named = await api.call('POST', '/v1/tasks', { key: billing.key, body: { type: 'answer', input: 'hi', collection: 'manuals', options: { model: 'primary' } } });
    expect(named).toMatchObject({
      status: 403,
      json: { error: { code: 'model_not_allowed', message: expect.stringContaining('"primary"'), details: { model: 'primary', list: 'access:application:billing' } } },
    });

    // No model named: the task starts, and the gateway refuses its call to the default model.
    const start = await api.call('POST', '/v1/tasks', { key: billing.key, body: { type: 'answer', input: 'How do I clear an E-102 jam?', collection: 'manuals' } });
    expect(start.status).toBe(202);
    const done = await result(start.json.taskId, api.keys.admin);
    expect(done).toMatchObject({ status: 'failed', error: { type: 'ModelNotAllowed', message: expect.stringContaining('"primary"') } });

    // Another application's key is not bound by the list.
    const other = await newKey({ application: 'support' });
    const ok = await api.call('POST', '/v1/tasks', { key: other.key, body: { type: 'answer', input: 'How do I clear an E-102 jam?', collection: 'manuals', options: { model: 'primary' } } });
    expect(ok.status).toBe(202);
    expect(await result(ok.json.taskId, api.keys.admin)).toMatchObject({ status: 'completed' });
  });

  it('a used-up budget is a 429 with Retry-After and the budget named; an admin key too', async () => {
    const admin = await api.call('POST', '/v1/api-keys', { key: api.keys.admin, body: { roles: ['admin'], backend: true } });
    const { id, key } = admin.json as { id: string; key: string };
    const budget = (tokens: number) => api.call('PUT', '/v1/budgets', { key: api.keys.admin, body: { scope: 'key', subject: id, period: 'day', tokens } });
    expect((await budget(1_000_000)).status).toBe(200);
    const used = await api.services.gateway.chat(ask, { tenantId: api.tenant, keyId: id, requestId: `budget-${id}` });
    const tokens = used.usage.inputTokens + used.usage.outputTokens;
    // Lowered to what the key has spent today: nothing more fits.
    expect((await budget(tokens)).status).toBe(200);

    const refused = await api.call('POST', '/v1/tasks', { key, body: { type: 'answer', input: 'How do I clear an E-102 jam?', collection: 'manuals' } });
    expect(refused).toMatchObject({ status: 429, json: { error: { code: 'budget_exceeded', details: { limit: `budget:key:${id}:day:tokens`, retryAfterSeconds: expect.any(Number) } } } });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    // And the gateway itself refuses the key's next call.
    await expect(api.services.gateway.chat(ask, { tenantId: api.tenant, keyId: id })).rejects.toMatchObject({ type: 'BudgetExceeded' });

    const listed = await api.call('GET', '/v1/budgets', { key: api.keys.admin });
    expect(listed.json.budgets).toContainEqual(expect.objectContaining({ scope: 'key', subject: id, period: 'day', tokens, spent: expect.objectContaining({ tokens }) }));
  });

  it('a full rate-limit window is a 429 with Retry-After and the limit named', async () => {
    const { id, key } = await newKey();
    expect((await api.call('PUT', '/v1/rate-limits', { key: api.keys.admin, body: { scope: 'key', subject: id, rpm: 1 } })).status).toBe(200);
    if (new Date().getUTCSeconds() > 55) await new Promise((r) => setTimeout(r, 6_000));
    await api.services.gateway.chat(ask, { tenantId: api.tenant, keyId: id });
    const refused = await api.call('POST', '/v1/tasks', { key, body: { type: 'answer', input: 'again', collection: 'manuals' } });
    expect(refused).toMatchObject({ status: 429, json: { error: { code: 'rate_limited', details: { limit: `rate:key:${id}:rpm` } } } });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('GET /v1/usage groups spend and tokens by key, model and day, within the tenant', async () => {
    const reader = await newKey();
    const start = await api.call('POST', '/v1/tasks', { key: reader.key, body: { type: 'answer', input: 'How do I clear an E-102 jam?', collection: 'manuals' } });
    expect(await result(start.json.taskId, api.keys.admin)).toMatchObject({ status: 'completed' });

    const report = await api.call('GET', `/v1/usage?groupBy=key,model,day&keyId=${reader.id}`, { key: reader.key });
    expect(report.status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    expect(report.json.groupBy).toEqual(['key', 'model', 'day']);
    expect(report.json.rows).toEqual([
      {
        tenantId: api.tenant,
        key: reader.id,
        model: 'primary',
        day: today,
        calls: expect.any(Number),
        inputTokens: expect.any(Number),
        outputTokens: expect.any(Number),
        costUsd: expect.any(Number),
        savedUsd: expect.any(Number),
      },
    ]);
    expect(report.json.rows[0].inputTokens).toBeGreaterThan(0);

    const byModel = await api.call('GET', '/v1/usage?groupBy=model', { key: api.keys.admin });
    expect(byModel.json.rows.map((r: { model: string }) => r.model)).toContain('primary');
    expect(byModel.json.rows.every((r: { tenantId: string }) => r.tenantId === api.tenant)).toBe(true);
    // Another tenant sees none of it.
    const other = await api.call('GET', `/v1/usage?keyId=${reader.id}`, { key: api.keys.other });
    expect(other.json.rows).toEqual([]);
    // usage:read (or admin) is needed.
    const writer = await newKey({ roles: ['tasks:write'] });
    expect((await api.call('GET', '/v1/usage', { key: writer.key })).status).toBe(403);
    expect((await api.call('GET', '/v1/usage?groupBy=tenant', { key: api.keys.admin })).status).toBe(400);
  });

  it('GET /v1/gateway/prompt-cache reports the hit ratio per prompt prefix, within the tenant', async () => {
    const reader = await newKey();
    const system = `You answer from the printer manual. ${reader.id}`;
    api.model.enqueue(
      { content: 'cold', usage: { promptTokens: 1000, completionTokens: 10, cacheWriteTokens: 0 } },
      { content: 'warm', usage: { promptTokens: 1000, completionTokens: 10, cachedReadTokens: 800 } },
    );
    for (const q of ['How do I clear an E-102 jam?', 'What does E-103 mean?']) {
      await api.services.gateway.chat({ messages: [{ role: 'system', content: system }, { role: 'user', content: q }], maxTokens: 20 }, { tenantId: api.tenant, keyId: reader.id, requestId: `pc-${q}` });
    }
    const report = await api.call('GET', '/v1/gateway/prompt-cache?model=primary&limit=500', { key: reader.key });
    expect(report.status).toBe(200);
    const mine = report.json.rows.filter((r: { inputTokens: number; cachedReadTokens: number }) => r.cachedReadTokens === 800 && r.inputTokens === 2000);
    expect(mine).toEqual([
      {
        tenantId: api.tenant,
        prefix: expect.stringMatching(/^[0-9a-f]{16}$/),
        model: 'primary',
        steps: [],
        calls: 2,
        inputTokens: 2000,
        cachedReadTokens: 800,
        cacheWriteTokens: 0,
        hitRatio: 0.4,
        cacheReadCallShare: 0.5,
        costUsd: expect.any(Number),
        savedUsd: expect.any(Number),
      },
    ]);
    // Another tenant sees none of it; usage:read (or admin) is needed; the query is checked.
    const other = await api.call('GET', '/v1/gateway/prompt-cache?limit=500', { key: api.keys.other });
    expect(other.status).toBe(200);
    expect(other.json.rows.some((r: { prefix: string }) => r.prefix === mine[0].prefix)).toBe(false);
    const writer = await newKey({ roles: ['tasks:write'] });
    expect((await api.call('GET', '/v1/gateway/prompt-cache', { key: writer.key })).status).toBe(403);
    expect((await api.call('GET', '/v1/gateway/prompt-cache?limit=0', { key: reader.key })).status).toBe(400);
  });
});
