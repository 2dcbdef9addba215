// Bad input never gets a 5xx, never hangs and leaves nothing behind (issue 9, parts 5 and 6):
// each case a fuzz of a running instance found, reproduced over real HTTP against a real
// Temporal dev server and PGlite; and a tenant's own policy cannot break its tasks, nor
// anyone else's.
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-harness.js';

const nested = (depth: number, leaf = '1') => '['.repeat(depth) + leaf + ']'.repeat(depth);

describe('bad input over the HTTP API', () => {
  let api: TestApi;
  let agentTaskId: string;

  beforeAll(async () => {
    api = await startTestApi();
    // An agent task of the tenant as the tasks table knows it; its workflow need not exist.
    agentTaskId = `task_${Date.now().toString(16)}bad`;
    await api.services.db.query("INSERT INTO tasks (id, tenant_id, type, request_hash) VALUES ($1, $2, 'agent', 'x')", [agentTaskId, api.tenant]);
  });
  afterAll(async () => {
    await api?.close();
  });

  const post = (path: string, body: unknown) => api.call('POST', path, { key: api.keys.admin, body });
  const raw = (method: string, path: string, text: string) => api.call(method, path, { key: api.keys.admin, raw: text });

  it('refuses NUL in any stored string, naming the field', async () => {
    for (const [doc, field] of [
      [{ text: 'a\u0000b' }, 'body.documents.0.text'],
      [{ text: 'ok', title: 'x\u0000' }, 'body.documents.0.title'],
      [{ text: 'ok', metadata: { k: 'v\u0000' } }, 'body.documents.0.metadata.k'],
      [{ text: 'ok', metadata: { 'k\u0000': 1 } }, 'body.documents.0.metadata.k\u0000'],
    ] as const) {
      const r = await post('/v1/documents', { documents: [doc] });
      expect(r.status, field).toBe(400);
      expect(r.json.error.code).toBe('invalid_request');
      expect(r.json.error.message).toContain(field);
    }
    const task = await post('/v1/tasks', { type: 'answer', input: 'why\u0000?' });
    expect(task).toMatchObject({ status: 400, json: { error: { code: 'invalid_request' } } });
    expect(task.json.error.message).toMatch(/^body\.input: .*NUL/);
    const idem = await api.call('POST', '/v1/tasks', { key: api.keys.admin, body: { type: 'answer', input: 'hi' }, headers: { 'idempotency-key': 'a\u00ffb' } });
    expect(idem.status).toBeLessThan(500);
  });

  it('refuses %00 and other characters outside the id pattern in path parameters', async () => {
    for (const path of ['/v1/tasks/%00', '/v1/tasks/task_1%00/result', '/v1/ingestions/ing%00', `/v1/tasks/${agentTaskId}/approvals/apr%00`]) {
      const r = path.includes('approvals') ? await post(path, { decision: 'reject', argumentsHash: '0'.repeat(64) }) : await api.call('GET', path, { key: api.keys.admin });
      expect(r.status, path).toBe(400);
      expect(r.json.error.message, path).toMatch(/^params\.(taskId|ingestionId|approvalId): /);
    }
    expect((await api.call('DELETE', '/v1/api-keys/%00', { key: api.keys.admin })).status).toBe(400);
  });

  it('refuses a page token it did not issue at once, instead of letting Temporal retry it', async () => {
    const started = Date.now();
    for (const token of ['garbage', 'Z2FyYmFnZQ.AAAAAAAAAAAAAAAAAAAAAA']) {
      const r = await api.call('GET', `/v1/tasks?pageToken=${token}`, { key: api.keys.admin });
      expect(r.status, token).toBe(400);
      expect(r.json.error.message).toMatch(/^query(string)?\.pageToken: /);
    }
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses a lone surrogate in metadata', async () => {
    const r = await raw('POST', '/v1/documents', '{"documents":[{"text":"ok","metadata":{"k":"\\ud800"}}]}');
    expect(r).toMatchObject({ status: 400, json: { error: { code: 'invalid_request' } } });
    expect(r.json.error.message).toContain('body.documents.0.metadata.k');
    // A proper pair (an emoji) is fine.
    expect(JSON.stringify((await raw('POST', '/v1/documents', '{"documents":[{"text":"ok \\ud83d\\ude00"}]}')).status)).toBe('202');
  });

  it('refuses JSON nested 5,000 deep before parsing it, and fields nested past their limit', async () => {
    const deep = await raw('POST', '/v1/documents', `{"documents":[{"text":"x","metadata":{"a":${nested(5_000)}}}]}`);
    expect(deep).toMatchObject({ status: 400, json: { error: { code: 'invalid_json', message: 'body: nested deeper than 40 levels' } } });
    const field = await raw('POST', '/v1/documents', `{"documents":[{"text":"x","metadata":{"a":${nested(34)}}}]}`);
    expect(field.status).toBe(400);
    expect(field.json.error.message).toMatch(/^body\.documents\.0\.metadata\.a(\.0)+: nested deeper than 32 levels/);
  });

  it('refuses deeply nested approval arguments with a 400, not a 503', async () => {
    const r = await raw('POST', `/v1/tasks/${agentTaskId}/approvals/apr_1`, `{"decision":"approve","argumentsHash":"${'0'.repeat(64)}","arguments":{"a":${nested(35)}}}`);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/^body\.arguments\.a.*nested deeper than 32 levels/);
  });

  it('refuses a filter or arguments over their size limit with a 413 at once, and a task over Temporal\'s limit leaves no row', async () => {
    const started = Date.now();
    const big = 'x'.repeat(4_500_000);
    const filter = await post('/v1/tasks', { type: 'answer', input: 'q', options: { filter: { k: big } } });
    expect(filter).toMatchObject({ status: 413, json: { error: { code: 'payload_too_large' } } });
    expect(filter.json.error.message).toMatch(/^body\.options\.filter: /);
    const args = await post(`/v1/tasks/${agentTaskId}/approvals/apr_1`, { decision: 'approve', argumentsHash: '0'.repeat(64), arguments: { body: big } });
    expect(args).toMatchObject({ status: 413, json: { error: { code: 'payload_too_large' } } });
    expect(args.json.error.message).toMatch(/^body\.arguments: /);
    // Each turn within its limit, together over what one Temporal payload holds.
    const before = await api.services.db.query('SELECT count(*)::int AS n FROM tasks WHERE tenant_id = $1', [api.tenant]);
    const conversation = Array.from({ length: 100 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'é'.repeat(19_000) }));
    const long = await post('/v1/tasks', { type: 'answer', input: 'q', conversation });
    expect(long).toMatchObject({ status: 413, json: { error: { code: 'payload_too_large' } } });
    expect(long.json.error.message).toMatch(/^body\.conversation: /);
    const after = await api.services.db.query('SELECT count(*)::int AS n FROM tasks WHERE tenant_id = $1', [api.tenant]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('answers compensation of an unknown approval with a 404 and starts no workflow', async () => {
    for (const approvalId of ['apr_404', '%00', 'apr_1%0D%0AX-Injected:%201']) {
      const r = await post(`/v1/tasks/${agentTaskId}/actions/${approvalId}/compensate`, undefined);
      expect(r.status, approvalId).toBe(approvalId === 'apr_404' ? 404 : 400);
      expect(r.json.error.code).toBe(approvalId === 'apr_404' ? 'not_found' : 'invalid_request');
    }
    const handle = api.worker.client.workflow.getHandle(`compensate.${agentTaskId}.apr_404`);
    await expect(handle.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    // A pending (never executed) approval is not compensable, and starts nothing either.
    await api.services.db.query(
      `INSERT INTO approvals (task_id, approval_id, tenant_id, tool, arguments, arguments_hash, preview, required_role, requested_at, expires_at)
       VALUES ($1, 'apr_7', $2, 'send_email', '{}', $3, '{"summary":"x"}', 'approvals:write', now(), now() + interval '1 hour')`,
      [agentTaskId, api.tenant, '0'.repeat(64)],
    );
    expect(await post(`/v1/tasks/${agentTaskId}/actions/apr_7/compensate`, undefined)).toMatchObject({ status: 400, json: { error: { code: 'not_compensable' } } });
    await expect(api.worker.client.workflow.getHandle(`compensate.${agentTaskId}.apr_7`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it("answers Fastify's own errors in the documented error shape", async () => {
    const badUrl = await api.call('GET', '/v1/tasks/%E0%A4%A', { key: api.keys.admin });
    expect(badUrl).toMatchObject({ status: 400, json: { error: { code: 'invalid_request' } } });
    const longId = await api.call('GET', `/v1/tasks/${'a'.repeat(300)}`, { key: api.keys.admin });
    expect(longId.status).toBe(400);
    expect(longId.json.error.message).toMatch(/^params\.taskId: /);
    const tooLong = await api.call('GET', `/v1/tasks/${'a'.repeat(1_200)}`, { key: api.keys.admin });
    expect(tooLong).toMatchObject({ status: 414, json: { error: { code: 'uri_too_long' } } });
    const headers = await api.call('GET', '/v1/tasks', { key: api.keys.admin, headers: { 'x-padding': 'p'.repeat(20_000) } });
    expect(headers).toMatchObject({ status: 431, json: { error: { code: 'header_too_large' } } });
  });

  it('answers a wrong method on an existing path with a 405 and an Allow header', async () => {
    const r = await api.call('DELETE', '/v1/tasks', { key: api.keys.admin });
    expect(r).toMatchObject({ status: 405, json: { error: { code: 'method_not_allowed' } } });
    expect(r.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    const param = await api.call('PUT', `/v1/tasks/${agentTaskId}/approvals/apr_1`, { key: api.keys.admin });
    expect(param.status).toBe(405);
    expect(param.headers.get('allow')).toBe('POST');
    expect((await api.call('GET', '/v1/nothing-here', { key: api.keys.admin })).status).toBe(404);
  });

  it('refuses a bad Last-Event-ID with a 400 instead of a database error in the stream', async () => {
    for (const id of ['1e20', '-1', '1.5', '99999999999']) {
      const r = await api.call('GET', `/v1/tasks/${agentTaskId}/events`, { key: api.keys.admin, headers: { 'last-event-id': id } });
      expect(r.status, id).toBe(400);
      expect(r.json.error.message).toMatch(/^headers\.last-event-id: /);
    }
    expect((await api.call('GET', `/v1/tasks/${agentTaskId}/events?since=99999999999`, { key: api.keys.admin })).status).toBe(400);
  });

  it('states the limits in the OpenAPI document', async () => {
    const doc = (await api.call('GET', '/openapi.json')).json;
    const text = JSON.stringify(doc);
    expect(text).toContain('"x-max-depth":32');
    const params = doc.paths['/v1/tasks/{taskId}'].get.parameters;
    expect(params.find((p: { name: string }) => p.name === 'taskId').schema).toMatchObject({ maxLength: 128, pattern: expect.any(String) });
    expect(doc.components.schemas.TaskRequest.oneOf?.[0]?.properties?.input ?? doc.components.schemas.TaskRequest.anyOf?.[0]?.properties?.input).toMatchObject({ pattern: expect.any(String), maxLength: 8000 });
    const policy = doc.paths['/v1/guardrails/policy'].put.requestBody.content['application/json'].schema;
    expect(JSON.stringify(policy)).toContain('"maxLength":100');
  });
});

describe("a tenant's guardrail policy", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('refuses a 1 MB blocked-topic phrase and other limits, naming the field', async () => {
    const put = (body: unknown) => api.call('PUT', '/v1/guardrails/policy', { key: api.keys.admin, body });
    const huge = await put({ scope: { blockedTopics: [{ topic: 'x', phrases: ['p'.repeat(1_000_000)] }] } });
    expect(huge).toMatchObject({ status: 400, json: { error: { code: 'invalid_request' } } });
    expect(huge.json.error.message).toMatch(/^body\.scope\.blockedTopics\.0\.phrases\.0: /);
    const many = await put({ scope: { blockedTopics: [{ topic: 'x', phrases: Array.from({ length: 101 }, (_, i) => `phrase ${i}`) }] } });
    expect(many.json.error.message).toMatch(/^body\.scope\.blockedTopics\.0\.phrases: /);
    const nul = await put({ output: { brand: { competitors: ['ac\u0000me'] } } });
    expect(nul.json.error.message).toMatch(/^body\.output\.brand\.competitors\.0: /);
    // Nothing was stored.
    expect((await api.call('GET', '/v1/guardrails/policy', { key: api.keys.admin })).json.version).toBe(0);
    expect((await put({ scope: { blockedTopics: [{ topic: 'weather', phrases: ['weather forecast'] }] } })).status).toBe(200);
  });

  it("fails the next task of a tenant whose stored policy cannot be used, clearly and at once, while another tenant's task succeeds", async () => {
    await api.services.db.query("INSERT INTO guardrail_policies (tenant_id, version, document, created_by) VALUES ($1, 99, $2, 'test')", [
      api.tenant,
      JSON.stringify({ scope: { blockedTopics: [{ topic: 'x', phrases: ['p'.repeat(1_000_000)] }] } }),
    ]);
    const started = Date.now();
    const mine = await api.call('POST', '/v1/tasks', { key: api.keys.admin, body: { type: 'answer', input: 'What is the refund policy?' } });
    const theirs = await api.call('POST', '/v1/tasks', { key: api.keys.other, body: { type: 'answer', input: 'What is the refund policy?' } });
    expect([mine.status, theirs.status]).toEqual([202, 202]);
    const mineDone = await api.call('GET', `/v1/tasks/${mine.json.taskId}/result?wait=30`, { key: api.keys.admin });
    expect(mineDone.json.status).toBe('failed');
    expect(mineDone.json.error.message).toMatch(/guardrail policy version 99 .* cannot be used \(scope\.blockedTopics\.0\.phrases\.0: /);
    expect(mineDone.json.error.message.length).toBeLessThan(500);
    expect(Date.now() - started).toBeLessThan(20_000);
    const theirsDone = await api.call('GET', `/v1/tasks/${theirs.json.taskId}/result?wait=30`, { key: api.keys.other });
    expect(theirsDone.json.status).toBe('completed');
    expect((await api.call('GET', '/v1/guardrails/policy', { key: api.keys.admin })).json.error.code).toBe('invalid_policy');
  });
});
