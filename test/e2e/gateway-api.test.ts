// GET /v1/gateway/deployments through the app harness: the breakers of the worker in the API's
// process, for admins and operators, with no tenant data; an API without a worker says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { testConfig, testLog } from '../support/harness.js';

describe('GET /v1/gateway/deployments', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it("shows each deployment's breaker, failure rate, latency and load to an admin, without tenant data", async () => {
    await api.services.gateway.chat({ messages: [{ role: 'user', content: 'What is the restocking fee?' }] }, { tenantId: api.tenant, taskId: 'task-secret' });
    const res = await api.call('GET', '/v1/gateway/deployments', { key: api.keys.admin });
    expect(res.status).toBe(200);
    expect(res.json.gateway).toBe('in_process');
    const primary = res.json.deployments.find((d: { model: string }) => d.model === 'primary');
    expect(primary).toEqual({
      model: 'primary',
      deployment: 'primary',
      provider: 'openai',
      endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/v1$/),
      state: 'closed',
      failureRate: 0,
      callsInWindow: 1,
      recentLatencyMs: expect.any(Number),
      inFlight: 0,
      trips: 0,
    });
    expect(res.json.deployments.map((d: { model: string }) => d.model)).toContain('local');
    const body = JSON.stringify(res.json);
    expect(body).not.toContain(api.tenant);
    expect(body).not.toContain('task-secret');

    // Another tenant's admin sees the same health: nothing in it belongs to a tenant.
    const other = await api.call('GET', '/v1/gateway/deployments', { key: api.keys.other });
    expect(other.status).toBe(200);
    expect(other.json.deployments).toHaveLength(res.json.deployments.length);
  });

  it('is for admins and operators only', async () => {
    const operator = (await createApiKey(api.services.db, { tenantId: api.tenant, roles: ['operator'] })).key;
    const reader = (await createApiKey(api.services.db, { tenantId: api.tenant, roles: ['tasks:read'] })).key;
    expect((await api.call('GET', '/v1/gateway/deployments', { key: operator })).status).toBe(200);
    const refused = await api.call('GET', '/v1/gateway/deployments', { key: reader });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('forbidden');
    expect((await api.call('GET', '/v1/gateway/deployments')).status).toBe(401);
  });

  it('says so when the API runs without a worker, and so without breakers', async () => {
    const config = testConfig();
    const app = await buildApi({ db: api.services.db, keyRing: api.services.keyRing, temporal: api.worker.client, config, log: testLog });
    try {
      const res = await app.inject({ method: 'GET', url: '/v1/gateway/deployments', headers: { authorization: `Bearer ${api.keys.admin}` } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ gateway: 'absent', deployments: [], message: expect.stringContaining('runs no worker') });
    } finally {
      await app.close();
    }
  });
});
