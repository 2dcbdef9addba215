// End to end through the HTTP API: real Fastify on a port, real Temporal dev server, a real
// worker, PGlite with pgvector, and the scripted model over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, upsertApiKey } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import type { Services } from '../../infra/services.js';
import { startTestWorker, testConfig, testLog, testServices, uniqueId, type TestWorker } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

describe('HTTP API', () => {
  let server: ScriptedModelServer;
  let services: Services;
  let worker: TestWorker;
  let app: Awaited<ReturnType<typeof buildApi>>;
  let base: string;
  const tenant = uniqueId('acme');
  const otherTenant = uniqueId('globex');
  const keys = { admin: '', reader: '', other: '' };

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary'] });
    const config = testConfig({ OPENAI_BASE_URL: server.baseUrl, GATEHOUSE_CHAT_MODEL: 'primary', INGEST_BATCH_SIZE: '100' });
    services = await testServices('pglite', config);
    worker = await startTestWorker(services, config);
    app = await buildApi({
      db: services.db,
      keyRing: services.keyRing,
      temporal: worker.client,
      config: { ...config, temporal: { ...config.temporal, taskQueue: worker.taskQueue } },
      log: testLog,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
    keys.admin = `gh_test_${uniqueId('admin')}_0123456789abcdef`;
    await upsertApiKey(services.db, { id: uniqueId('k'), key: keys.admin, tenantId: tenant, roles: ['admin'], name: 'test admin' });
    keys.reader = (await createApiKey(services.db, { tenantId: tenant, roles: ['tasks:read'] })).key;
    keys.other = (await createApiKey(services.db, { tenantId: otherTenant, roles: ['admin'] })).key;
  });
  afterAll(async () => {
    await app?.close();
    await worker?.stop();
    await server?.close();
    await services?.close();
  });

  async function call(method: string, path: string, opts: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
    if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
    const text = await res.text();
    let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  async function waitForIngestion(id: string, key = keys.admin) {
    for (let i = 0; i < 600; i++) {
      const r = await call('GET', `/v1/ingestions/${id}`, { key });
      if (r.json.status !== 'running') return r;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error('ingestion did not finish');
  }

  it('rejects missing, unknown and under-privileged keys with JSON errors', async () => {
    expect(await call('GET', '/v1/tasks')).toMatchObject({ status: 401, json: { error: { code: 'unauthorized' } } });
    expect(await call('GET', '/v1/tasks', { key: 'gh_nope_nope' })).toMatchObject({ status: 401, json: { error: { code: 'unauthorized', message: 'invalid or revoked API key' } } });
    const forbidden = await call('POST', '/v1/documents', { key: keys.reader, body: { documents: [{ text: 'x' }] } });
    expect(forbidden).toMatchObject({ status: 403, json: { error: { code: 'forbidden', message: 'this API key lacks the "documents:write" role' } } });
  });

  it('lets an admin create narrower keys and revoke them', async () => {
    const created = await call('POST', '/v1/api-keys', { key: keys.admin, body: { roles: ['tasks:read'], name: 'dashboard' } });
    expect(created).toMatchObject({ status: 201, json: { tenantId: tenant, roles: ['tasks:read'] } });
    expect(created.json.key).toMatch(/^gh_[0-9a-f]{12}_[\w-]{43}$/);
    expect((await call('GET', '/v1/tasks', { key: created.json.key })).status).toBe(200);
    expect((await call('POST', '/v1/api-keys', { key: created.json.key, body: { roles: ['admin'] } })).status).toBe(403);
    expect((await call('POST', '/v1/api-keys', { key: keys.admin, body: { roles: ['root'] } })).json.error.message).toMatch(/^body\.roles\.0: /);
    expect((await call('DELETE', `/v1/api-keys/${created.json.id}`, { key: keys.other })).status).toBe(404);
    expect((await call('DELETE', `/v1/api-keys/${created.json.id}`, { key: keys.admin })).status).toBe(204);
    expect((await call('GET', '/v1/tasks', { key: created.json.key })).status).toBe(401);
    const stored = await services.db.query('SELECT key_hash FROM api_keys WHERE id = $1', [created.json.id]);
    expect(stored.rows[0].key_hash).not.toContain(created.json.key.slice(16));
  });

  it('answers bad input with a 400 that names the field', async () => {
    const blank = await call('POST', '/v1/documents', { key: keys.admin, body: { documents: [{ text: 'ok' }, { text: '   ' }] } });
    expect(blank.status).toBe(400);
    expect(blank.json.error).toMatchObject({ code: 'invalid_request', message: 'body.documents.1.text: must not be blank' });
    const dup = await call('POST', '/v1/documents', { key: keys.admin, body: { documents: [{ id: 'a', text: 'x' }, { id: 'a', text: 'y' }] } });
    expect(dup.json.error.message).toBe('body.documents.1.id: duplicates documents[0].id');
    const badType = await call('POST', '/v1/tasks', { key: keys.admin, body: { type: 'poem', input: 'hi' } });
    expect(badType.status).toBe(400);
    expect(badType.json.error.message).toMatch(/^body\.type: /);
    const badOption = await call('POST', '/v1/tasks', { key: keys.admin, body: { type: 'answer', input: 'hi', options: { topK: 0 } } });
    expect(badOption.json.error.message).toMatch(/^body\.options\.topK: /);
    const badJson = await call('POST', '/v1/tasks', { key: keys.admin, raw: '{"type": "answer",' });
    expect(badJson).toMatchObject({ status: 400, json: { error: { code: 'invalid_json' } } });
    const badWait = await call('GET', '/v1/tasks/x/result?wait=999', { key: keys.admin });
    expect(badWait.json.error.message).toMatch(/^querystring\.wait: /);
    expect(await call('GET', '/v1/nothing-here', { key: keys.admin })).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
  });

  it('ingests documents, answers a question with citations, and shows the steps', async () => {
    const ingest = await call('POST', '/v1/documents', {
      key: keys.admin,
      body: {
        collection: 'manuals',
        documents: [
          { id: 'jams', title: 'Paper jams', text: '# Paper jams\n\nTo clear an E-102 jam, open the rear access door and lower the two green fuser release levers.' },
          { id: 'returns', title: 'Returns', text: 'Returns within 30 days get a full refund minus a 15% restocking fee.', metadata: { kind: 'policy' } },
        ],
      },
    });
    expect(ingest.status).toBe(202);
    expect(ingest.json).toMatchObject({ collection: 'manuals', documents: 2, status: 'running', links: { self: `/v1/ingestions/${ingest.json.ingestionId}` } });
    const done = await waitForIngestion(ingest.json.ingestionId);
    expect(done.json).toMatchObject({ status: 'completed', documents: 2, processed: 2, indexed: 2, failed: 0, errors: [] });

    server.enqueue({ content: 'Open the rear access door and lower the green levers [1].', usage: { promptTokens: 120, completionTokens: 14 } });
    const start = await call('POST', '/v1/tasks', { key: keys.admin, body: { type: 'answer', input: 'How do I clear an E-102 jam?', collection: 'manuals' } });
    expect(start.status).toBe(202);
    expect(start.json.status).toBe('running');
    const { taskId } = start.json;
    expect(start.json.links).toEqual({ self: `/v1/tasks/${taskId}`, result: `/v1/tasks/${taskId}/result`, cancel: `/v1/tasks/${taskId}/cancel` });

    const result = await call('GET', `/v1/tasks/${taskId}/result?wait=20`, { key: keys.admin });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ taskId, status: 'completed', result: { answer: 'Open the rear access door and lower the green levers [1].', model: 'primary' } });
    expect(result.json.result.citations[0]).toMatchObject({ index: 1, documentId: 'jams', title: 'Paper jams' });
    // A finished task answers at once, however short the wait.
    expect(await call('GET', `/v1/tasks/${taskId}/result?wait=0`, { key: keys.admin })).toMatchObject({ status: 200, json: { status: 'completed' } });

    const task = await call('GET', `/v1/tasks/${taskId}`, { key: keys.admin });
    expect(task.json).toMatchObject({ taskId, type: 'answer', status: 'completed', usage: { inputTokens: 120, outputTokens: 14 } });
    expect(task.json.steps.map((s: { name: string }) => s.name)).toEqual(['input_guard', 'route', 'rewrite_query', 'retrieve', 'screen_context', 'generate', 'output_guard']);
    expect(task.json.closedAt).toBeTruthy();

    // A reader may read, and another tenant cannot even tell the task exists.
    expect((await call('GET', `/v1/tasks/${taskId}`, { key: keys.reader })).status).toBe(200);
    expect(await call('GET', `/v1/tasks/${taskId}`, { key: keys.other })).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
    expect((await call('GET', `/v1/ingestions/${ingest.json.ingestionId}`, { key: keys.other })).status).toBe(404);
    // …nor retrieve from our collection under the same name.
    server.enqueue({ content: 'nothing [1]' });
    const theirs = await call('POST', '/v1/tasks', { key: keys.other, body: { type: 'answer', input: 'How do I clear an E-102 jam?', collection: 'manuals' } });
    const theirResult = await call('GET', `/v1/tasks/${theirs.json.taskId}/result?wait=20`, { key: keys.other });
    expect(theirResult.json.result.citations).toEqual([]);
    expect(theirResult.json.result.model).toBe('none');
  });

  it('returns the same task for a retried Idempotency-Key, and refuses the key for a different request', async () => {
    server.onChat(() => ({ content: 'idempotent answer' }));
    const body = { type: 'answer', input: 'What is the restocking fee?', collection: 'manuals' };
    const headers = { 'idempotency-key': uniqueId('idem') };
    const first = await call('POST', '/v1/tasks', { key: keys.admin, body, headers });
    const second = await call('POST', '/v1/tasks', { key: keys.admin, body, headers });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.json.taskId).toBe(first.json.taskId);
    const changed = await call('POST', '/v1/tasks', { key: keys.admin, body: { ...body, input: 'Something else?' }, headers });
    expect(changed).toMatchObject({ status: 422, json: { error: { code: 'idempotency_key_reused' } } });
    // The same key in another tenant is another task.
    const other = await call('POST', '/v1/tasks', { key: keys.other, body, headers });
    expect(other.json.taskId).not.toBe(first.json.taskId);
    await call('GET', `/v1/tasks/${first.json.taskId}/result?wait=20`, { key: keys.admin });
    server.onChat(undefined);
  });

  it('long-polls, lists by status and cancels', async () => {
    server.enqueue({ hangMs: 60_000 });
    const start = await call('POST', '/v1/tasks', { key: keys.admin, body: { type: 'answer', input: 'How do I clear an E-102 jam?', collection: 'manuals' } });
    const { taskId } = start.json;
    const t0 = Date.now();
    const pending = await call('GET', `/v1/tasks/${taskId}/result?wait=1`, { key: keys.admin });
    expect(pending).toMatchObject({ status: 202, json: { taskId, status: 'running' } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(5_000);

    const running = await call('GET', '/v1/tasks?status=running', { key: keys.admin });
    expect(running.json.tasks.map((t: { taskId: string }) => t.taskId)).toContain(taskId);
    const cancel = await call('POST', `/v1/tasks/${taskId}/cancel`, { key: keys.admin });
    expect(cancel.status).toBe(202);
    const final = await call('GET', `/v1/tasks/${taskId}/result?wait=20`, { key: keys.admin });
    expect(final.json).toMatchObject({ taskId, status: 'canceled' });
    // The reproduction of a 503: a failed or canceled task polled with no wait was described under the aborted signal.
    for (let i = 0; i < 5; i++) expect(await call('GET', `/v1/tasks/${taskId}/result?wait=0`, { key: keys.admin })).toMatchObject({ status: 200, json: { taskId, status: 'canceled' } });
    expect(await call('POST', `/v1/tasks/${taskId}/cancel`, { key: keys.admin })).toMatchObject({ status: 409, json: { error: { code: 'task_not_running' } } });

    // Visibility is eventually consistent: wait for the list to show the final states.
    let listed: Array<{ taskId: string; status: string }> = [];
    for (let i = 0; i < 50; i++) {
      listed = (await call('GET', '/v1/tasks?limit=100', { key: keys.admin })).json.tasks;
      if (listed.find((t) => t.taskId === taskId)?.status === 'canceled') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(listed.find((t) => t.taskId === taskId)).toMatchObject({ type: 'answer', status: 'canceled' });
    const canceled = await call('GET', '/v1/tasks?status=canceled', { key: keys.admin });
    expect(canceled.json.tasks.every((t: { status: string }) => t.status === 'canceled')).toBe(true);
    // Only our tenant's tasks, newest first, paged.
    const page = await call('GET', '/v1/tasks?limit=1', { key: keys.admin });
    expect(page.json.tasks).toHaveLength(1);
    expect(page.json.nextPageToken).toBeTruthy();
    const next = await call('GET', `/v1/tasks?limit=1&pageToken=${page.json.nextPageToken}`, { key: keys.admin });
    expect(next.json.tasks[0].taskId).not.toBe(page.json.tasks[0].taskId);
    const theirs = await call('GET', '/v1/tasks?limit=100', { key: keys.other });
    expect(theirs.json.tasks.map((t: { taskId: string }) => t.taskId)).not.toContain(taskId);
  });

  it('reports health and serves its OpenAPI document', async () => {
    const health = await call('GET', '/healthz');
    expect(health).toMatchObject({ status: 200, json: { status: 'ok', checks: { temporal: { ok: true }, database: { ok: true } } } });
    const spec = await call('GET', '/openapi.json');
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.json.paths)).toEqual(
      expect.arrayContaining(['/v1/documents', '/v1/ingestions/{ingestionId}', '/v1/tasks', '/v1/tasks/{taskId}', '/v1/tasks/{taskId}/result', '/v1/tasks/{taskId}/cancel', '/healthz']),
    );
    expect(spec.json.components.schemas.TaskRequest).toBeDefined();
    const docs = await fetch(`${base}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });

  it('ingests a batch of 5,000 documents', async () => {
    const documents = Array.from({ length: 5_000 }, (_, i) => ({
      id: `bulk-${i}`,
      title: `Bulk ${i}`,
      text: `Bulk document ${i} covers topic ${i % 97} and detail ${i % 13}. It exists to test large ingestions.`,
    }));
    const t0 = Date.now();
    const ingest = await call('POST', '/v1/documents', { key: keys.admin, body: { collection: 'bulk', documents } });
    expect(ingest.status).toBe(202);
    const done = await waitForIngestion(ingest.json.ingestionId);
    expect(done.json).toMatchObject({ status: 'completed', documents: 5_000, processed: 5_000, indexed: 5_000, failed: 0 });
    expect(done.json.chunks).toBe(5_000);
    testLog.info({ ms: Date.now() - t0 }, '5,000 documents ingested');
  }, 300_000);
});
