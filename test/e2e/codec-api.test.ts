// The codec endpoint the Temporal UI decodes history with: real Fastify on a port, a real
// workflow's history from the dev server, API keys in PGlite, and the browser's side of it
// (CORS preflight, the cookie login).
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, upsertApiKey } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import type { Services } from '../../infra/services.js';
import type { answerQuestion } from '../../workflows/answer.js';
import { startTestWorker, testConfig, testServices, uniqueId, type TestWorker } from '../support/harness.js';

const UI = 'http://127.0.0.1:8233';

describe('codec endpoint', () => {
  let services: Services;
  let worker: TestWorker;
  let app: Awaited<ReturnType<typeof buildApi>>;
  let base: string;
  const logs: string[] = [];
  const tenant = uniqueId('ops');
  const otherTenant = uniqueId('rival');
  const keys = { admin: '', decoder: '', reader: '', otherAdmin: '', operator: '' };

  beforeAll(async () => {
    const config = testConfig();
    services = await testServices('pglite', config);
    worker = await startTestWorker(services, config);
    // Every API log line, at the most verbose level, to check what never reaches the logs.
    const sink = new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) });
    app = await buildApi({ db: services.db, temporal: worker.client, keyRing: config.temporal.payloadKeys!, config, log: pino({ level: 'trace' }, sink) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    keys.admin = `gh_test_${uniqueId('admin')}_0123456789abcdef`;
    await upsertApiKey(services.db, { id: uniqueId('k'), key: keys.admin, tenantId: tenant, roles: ['admin'], name: 'ops admin' });
    keys.decoder = (await createApiKey(services.db, { tenantId: tenant, roles: ['payloads:decode'] })).key;
    keys.reader = (await createApiKey(services.db, { tenantId: tenant, roles: ['tasks:read'] })).key;
    keys.otherAdmin = (await createApiKey(services.db, { tenantId: otherTenant, roles: ['admin'] })).key;
    keys.operator = (await createApiKey(services.db, { tenantId: uniqueId('platform'), roles: ['operator'] })).key;
  });
  afterAll(async () => {
    await app?.close();
    await worker?.stop();
    await services?.close();
  });

  async function post(path: string, opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-namespace': 'default', ...opts.headers };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(opts.body ?? { payloads: [] }) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
  }

  /** A real history payload: the input of a task (registered as the API does) that mentions a unique email. */
  async function historyPayload(owner = tenant) {
    const email = `grace.${uniqueId('x')}@example.com`;
    const taskId = `task_${randomBytes(16).toString('hex')}`;
    await services.db.query("INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING", [owner]);
    await services.db.query("INSERT INTO tasks (id, tenant_id, type, request_hash) VALUES ($1, $2, 'answer', 'x')", [taskId, owner]);
    const handle = await worker.client.workflow.start<typeof answerQuestion>('answerQuestion', {
      taskQueue: worker.taskQueue,
      workflowId: taskId,
      args: [{ tenantId: owner, collection: 'kb', question: `Write to ${email}`, conversation: [], options: { mode: 'ensemble', topK: 3, candidates: 10, rrfK: 60, efSearch: 40 } }],
    });
    await handle.result();
    const { history } = await worker.client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: handle.workflowId } });
    const [payload] = history!.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
    // The JSON the UI posts: metadata values and data in base64.
    const json = {
      metadata: Object.fromEntries(Object.entries(payload!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(payload!.data!).toString('base64'),
    };
    return { email, json };
  }

  it('requires an API key, the payloads:decode role and the configured namespace', async () => {
    expect(await post('/codec/decode')).toMatchObject({ status: 401, json: { error: { code: 'unauthorized' } } });
    expect(await post('/codec/decode', { key: 'gh_nope_nope' })).toMatchObject({ status: 401 });
    expect(await post('/codec/decode', { key: keys.reader })).toMatchObject({ status: 403, json: { error: { message: 'this API key lacks the "payloads:decode" role' } } });
    expect(await post('/codec/encode', { key: keys.reader })).toMatchObject({ status: 403 });
    expect(await post('/codec/decode', { key: keys.decoder, headers: { 'x-namespace': 'other' } })).toMatchObject({ status: 403 });
    expect(await post('/codec/decode', { key: keys.decoder, body: { nope: 1 } })).toMatchObject({ status: 400, json: { error: { code: 'invalid_request' } } });
    expect(await post('/codec/decode', { key: keys.admin })).toMatchObject({ status: 200, json: { payloads: [] } });
  });

  it('decodes a real history payload and round-trips /codec/encode', async () => {
    const { email, json } = await historyPayload();
    expect(Buffer.from(json.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
    const decoded = await post('/codec/decode', { key: keys.decoder, body: { payloads: [json] } });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('cache-control')).toBe('no-store');
    const [plain] = decoded.json.payloads;
    expect(Buffer.from(plain.metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(plain.data, 'base64').toString()).question).toBe(`Write to ${email}`);

    const encoded = await post('/codec/encode', { key: keys.decoder, body: { payloads: [plain] } });
    expect(Buffer.from(encoded.json.payloads[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(encoded.json.payloads[0].data, 'base64').toString('latin1')).not.toContain(email);
    const again = await post('/codec/decode', { key: keys.decoder, body: encoded.json });
    expect(again.json.payloads).toEqual([plain]);

    // A tampered payload is a clear 400, not a 500.
    const data = Buffer.from(json.data, 'base64');
    data[data.length - 1]! ^= 1;
    expect(await post('/codec/decode', { key: keys.decoder, body: { payloads: [{ ...json, data: data.toString('base64') }] } })).toMatchObject({
      status: 400,
      json: { error: { code: 'undecodable_payload' } },
    });
    // Neither payloads nor keys reach the logs, at trace level.
    const logged = logs.join('');
    expect(logged).toContain('/codec/decode');
    for (const secret of [email, json.data, plain.data, keys.decoder, keys.admin]) expect(logged).not.toContain(secret);
  });

  it("decodes a tenant's payloads for that tenant only, every tenant's for an operator", async () => {
    const ours = await historyPayload(tenant);
    const theirs = await historyPayload(otherTenant);
    // The payload names its tenant; the label is authenticated with the ciphertext.
    expect(Buffer.from(ours.json.metadata['encryption-tenant']!, 'base64').toString()).toBe(tenant);
    const question = (res: { json: { payloads: Array<{ data: string }> } }) => JSON.parse(Buffer.from(res.json.payloads[0]!.data, 'base64').toString()).question;

    // Tenant B's admin cannot read tenant A's workflow input (the reproduction), nor A's decoder B's.
    const crossed = await post('/codec/decode', { key: keys.otherAdmin, body: { payloads: [ours.json] } });
    expect(crossed).toMatchObject({ status: 403, json: { error: { code: 'forbidden', message: 'the payload belongs to another tenant' } } });
    expect(JSON.stringify(crossed.json)).not.toContain(ours.email);
    expect(await post('/codec/decode', { key: keys.decoder, body: { payloads: [theirs.json] } })).toMatchObject({ status: 403 });
    // A batch with one foreign payload decodes nothing.
    expect(await post('/codec/decode', { key: keys.decoder, body: { payloads: [ours.json, theirs.json] } })).toMatchObject({ status: 403 });
    expect(question(await post('/codec/decode', { key: keys.otherAdmin, body: { payloads: [theirs.json] } }))).toBe(`Write to ${theirs.email}`);

    // Relabelling a payload as the caller's tenant fails authentication.
    const relabelled = { ...ours.json, metadata: { ...ours.json.metadata, 'encryption-tenant': Buffer.from(otherTenant).toString('base64') } };
    expect(await post('/codec/decode', { key: keys.otherAdmin, body: { payloads: [relabelled] } })).toMatchObject({ status: 400, json: { error: { code: 'undecodable_payload' } } });

    // The deployment's operator decodes both; a tenant admin cannot mint an operator key.
    const both = await post('/codec/decode', { key: keys.operator, body: { payloads: [ours.json, theirs.json] } });
    expect(both.status).toBe(200);
    expect(both.json.payloads.map((p: { data: string }) => JSON.parse(Buffer.from(p.data, 'base64').toString()).question)).toEqual([`Write to ${ours.email}`, `Write to ${theirs.email}`]);
    const minted = await fetch(`${base}/v1/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['operator'] }) });
    expect(minted.status).toBe(403);

    // What a tenant encodes is labelled with its tenant; what an operator encodes, with none (operators only).
    const mine = await post('/codec/encode', { key: keys.otherAdmin, body: { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hi"').toString('base64') }] } });
    expect(Buffer.from(mine.json.payloads[0].metadata['encryption-tenant'], 'base64').toString()).toBe(otherTenant);
    const ops = await post('/codec/encode', { key: keys.operator, body: { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hi"').toString('base64') }] } });
    expect(ops.json.payloads[0].metadata['encryption-tenant']).toBeUndefined();
    expect(await post('/codec/decode', { key: keys.admin, body: ops.json })).toMatchObject({ status: 403 });
    expect(await post('/codec/decode', { key: keys.operator, body: ops.json })).toMatchObject({ status: 200 });
  });

  it('answers CORS preflights for the Temporal UI origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${base}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
      });
    const allowed = await preflight(UI);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(UI);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(allowed.headers.get('access-control-allow-headers')).toBe('content-type, authorization, x-namespace');
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');

    const denied = await preflight('https://evil.example');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    expect(denied.headers.get('access-control-allow-credentials')).toBeNull();
    // The actual request from a foreign origin gets no CORS grant either (the browser hides the answer).
    const foreign = await post('/codec/decode', { key: keys.decoder, headers: { origin: 'https://evil.example' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets the browser sign in with a key and decode with an HttpOnly, SameSite=Strict session cookie', async () => {
    const page = await fetch(`${base}/codec/login`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<form method="post" action="/codec/login">');

    const login = (apiKey: string) =>
      fetch(`${base}/codec/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ apiKey }) });
    const refused = await login(keys.reader);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect(await refused.text()).toContain('lacks the &#34;payloads:decode&#34; role');
    expect((await login('gh_nope_nope')).status).toBe(401);

    const ok = await login(keys.decoder);
    expect(ok.status).toBe(200);
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^gh_codec=[\w-]{43}; Path=\/codec; Max-Age=28800; HttpOnly; SameSite=Strict$/);
    const session = cookie.split(';')[0]!;
    expect(session).not.toContain(keys.decoder.split('_').at(-1));

    const { json } = await historyPayload();
    const decoded = await post('/codec/decode', { headers: { cookie: session, origin: UI }, body: { payloads: [json] } });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(UI);
    expect(decoded.json.payloads[0].metadata.encoding).toBe(Buffer.from('json/plain').toString('base64'));
    expect((await post('/codec/decode', { headers: { cookie: 'gh_codec=forged' } })).status).toBe(401);

    // Logging out ends the session.
    const out = await fetch(`${base}/codec/logout`, { method: 'POST', headers: { cookie: session } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await post('/codec/decode', { headers: { cookie: session } })).status).toBe(401);
  });

  it('ends sessions when their key is revoked', async () => {
    const { id, key } = await createApiKey(services.db, { tenantId: tenant, roles: ['payloads:decode'] });
    const res = await fetch(`${base}/codec/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: key }) });
    expect(res.status).toBe(204);
    const session = res.headers.get('set-cookie')!.split(';')[0]!;
    expect((await post('/codec/decode', { headers: { cookie: session } })).status).toBe(200);
    await services.db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [id]);
    expect((await post('/codec/decode', { headers: { cookie: session } })).status).toBe(401);
  });
});
