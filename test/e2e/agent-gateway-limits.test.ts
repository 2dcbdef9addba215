// An agent task the gateway refuses pauses instead of failing, on the real stack (Temporal dev
// server, PGlite, the scripted model): a used-up budget asks the owner at the approval desk and
// goes on once approved; a full rate-limit window is waited out with a durable timer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-harness.js';

describe('an agent task the gateway refuses', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.close());

  /** An admin key for a backend: budgets hold for it as for any key. */
  async function backendAdmin() {
    const r = await api.call('POST', '/v1/api-keys', { key: api.keys.admin, body: { roles: ['admin'], backend: true } });
    return r.json as { id: string; key: string };
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
    for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
      const found = await probe();
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('pauses on a used-up budget, asks its owner, and goes on once the budget is raised and the owner approves', async () => {
    const { id, key } = await backendAdmin();
    const budget = (tokens: number) => api.call('PUT', '/v1/budgets', { key: api.keys.admin, body: { scope: 'key', subject: id, period: 'day', tokens } });
    // Room for no model call at all.
    expect((await budget(1)).status).toBe(200);
    const start = await api.call('POST', '/v1/tasks', { key, body: { type: 'agent', input: 'Say hello.', options: { tools: [] } } });
    expect(start.status).toBe(202);
    const { taskId } = start.json;

    const approval = await until('the extension approval', async () => {
      const task = await api.call('GET', `/v1/tasks/${taskId}`, { key });
      return task.json.agent?.pendingApprovals?.find((a: { tool: string }) => a.tool === 'extend_budget');
    });
    expect(approval.arguments).toEqual({ reason: 'gateway_limit', limit: `budget:key:${id}:day:tokens`, retryAfterSeconds: null });
    const paused = await api.call('GET', `/v1/tasks/${taskId}`, { key });
    expect(paused.json).toMatchObject({ status: 'awaiting_approval', agent: { phase: 'awaiting_approval' } });

    expect((await budget(1_000_000)).status).toBe(200);
    const decided = await api.call('POST', `/v1/tasks/${taskId}/approvals/${approval.approvalId}`, { key, body: { decision: 'approve', argumentsHash: approval.argumentsHash } });
    expect(decided.status).toBe(200);
    const done = await api.call('GET', `/v1/tasks/${taskId}/result?wait=30`, { key });
    expect(done.json).toMatchObject({ status: 'completed', result: { endReason: 'answered', answer: expect.stringContaining('scripted reply') } });
  });

  it('stops, reported as such, when the owner does not go on', async () => {
    const { id, key } = await backendAdmin();
    await api.call('PUT', '/v1/budgets', { key: api.keys.admin, body: { scope: 'key', subject: id, period: 'day', tokens: 1 } });
    const { taskId } = (await api.call('POST', '/v1/tasks', { key, body: { type: 'agent', input: 'Say hello.', options: { tools: [] } } })).json;
    const approval = await until('the extension approval', async () => {
      const task = await api.call('GET', `/v1/tasks/${taskId}`, { key });
      return task.json.agent?.pendingApprovals?.find((a: { tool: string }) => a.tool === 'extend_budget');
    });
    await api.call('POST', `/v1/tasks/${taskId}/approvals/${approval.approvalId}`, { key, body: { decision: 'reject', argumentsHash: approval.argumentsHash, reason: 'not this month' } });
    const done = await api.call('GET', `/v1/tasks/${taskId}/result?wait=30`, { key });
    expect(done.json).toMatchObject({ status: 'completed', result: { endReason: 'gateway_limit', answer: expect.stringContaining(`budget:key:${id}:day:tokens`) } });
  });

  it('waits out a full rate-limit window with a durable timer, then goes on', async () => {
    const { key } = await backendAdmin();
    // The model's window, filled by another call: the task's first decision is refused.
    await api.call('PUT', '/v1/rate-limits', { key: api.keys.admin, body: { scope: 'model', subject: 'primary', rpm: 1 } });
    if (new Date().getUTCSeconds() > 50) await new Promise((r) => setTimeout(r, 11_000));
    await api.services.gateway.chat({ messages: [{ role: 'user', content: 'fill the window' }] }, { tenantId: api.tenant, keyId: 'someone-else' });
    const started = Date.now();
    const { taskId } = (await api.call('POST', '/v1/tasks', { key, body: { type: 'agent', input: 'Say hello.', options: { tools: [] } } })).json;
    const done = await until('the task to finish', async () => {
      const r = await api.call('GET', `/v1/tasks/${taskId}/result?wait=30`, { key });
      return r.json.status === 'running' || r.json.status === 'awaiting_approval' ? undefined : r;
    });
    expect(done.json).toMatchObject({ status: 'completed', result: { endReason: 'answered' } });
    const steps = (await api.call('GET', `/v1/tasks/${taskId}`, { key })).json.steps as Array<{ name: string; status: string; error?: string }>;
    expect(steps.filter((s) => s.name === 'decide').map((s) => s.status)).toEqual(['failed', 'completed']);
    expect(steps.find((s) => s.status === 'failed')!.error).toContain('rate:model:primary:rpm');
    // It waited for the next window, not a retry storm.
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  }, 120_000);
});
