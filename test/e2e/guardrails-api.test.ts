// Guardrails end to end through the HTTP API, on a real Temporal dev server and PGlite:
// a question carrying a phone number and an email is answered with both restored for a
// caller allowed to see them (placeholders for everyone else), and neither value appears in
// Temporal's raw history or in any log line; the guarded event stream; reviews; policies.
import { temporal as proto } from '@temporalio/proto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, upsertApiKey } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import type { Services } from '../../infra/services.js';
import { indexDocuments } from '../support/corpus.js';
import { startTestWorker, testConfig, testServices, uniqueId, type TestWorker } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

const GOOD = 'Returns within 30 days get a full refund minus a 15% restocking fee [1].';

describe('guardrails over the HTTP API', () => {
  let server: ScriptedModelServer;
  let services: Services;
  let worker: TestWorker;
  let app: Awaited<ReturnType<typeof buildApi>>;
  let base: string;
  const tenant = uniqueId('acme');
  const keys = { admin: '', reader: '', reviewer: '' };
  // Every line the API and the worker log, at debug level.
  const logLines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary'] });
    const config = testConfig({ OPENAI_BASE_URL: server.baseUrl, GATEHOUSE_CHAT_MODEL: 'primary' });
    services = await testServices('pglite', config);
    worker = await startTestWorker(services, config, [], log);
    app = await buildApi({ db: services.db, keyRing: services.keyRing, temporal: worker.client, config: { ...config, temporal: { ...config.temporal, taskQueue: worker.taskQueue } }, log });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    keys.admin = `gh_test_${uniqueId('admin')}_0123456789abcdef`;
    await upsertApiKey(services.db, { id: uniqueId('k'), key: keys.admin, tenantId: tenant, roles: ['admin'], name: 'admin' });
    keys.reader = (await createApiKey(services.db, { tenantId: tenant, roles: ['tasks:read'] })).key;
    keys.reviewer = (await createApiKey(services.db, { tenantId: tenant, roles: ['tasks:read', 'reviews:write'] })).key;
    await indexDocuments(services, {
      tenantId: tenant,
      collection: 'kb',
      documents: [{ id: 'returns', title: 'Returns', text: '# Returns\n\nReturns within 30 days get a full refund minus a 15% restocking fee. Defective printers are exempt from the fee.' }],
    });
  });
  afterAll(async () => {
    await app?.close();
    await worker?.stop();
    await server?.close();
    await services?.close();
  });

  async function call(method: string, path: string, opts: { key?: string; body?: unknown } = {}) {
    const headers: Record<string, string> = {};
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json, text };
  }

  /** The task's raw history as the server stores it, serialized: no codec, no SDK decoding. */
  async function rawHistory(taskId: string): Promise<Buffer> {
    const res = await worker.client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: taskId } });
    return Buffer.from(proto.api.history.v1.History.encode(res.history!).finish());
  }

  it('answers a question with a phone number and an email: restored for the caller, absent from history and logs', async () => {
    const email = `${uniqueId('jane.roe')}@example.com`;
    const phone = '+1 415 555 0132';
    // A tenant policy that tolerates one sentence spoken to the user (it is not a claim about the documents).
    expect((await call('PUT', '/v1/guardrails/policy', { key: keys.admin, body: { output: { grounding: { maxUnsupported: 1 } } } })).json.version).toBe(1);
    server.enqueue({ content: `${GOOD} We will confirm by email to [EMAIL_ADDRESS_1] and call [PHONE_NUMBER_1].` });
    const question = `I'm ${email}, phone ${phone}. What is the restocking fee for returns?`;
    const start = await call('POST', '/v1/tasks', { key: keys.admin, body: { type: 'answer', input: question, collection: 'kb' } });
    expect(start.status).toBe(202);
    const { taskId } = start.json;
    const done = await call('GET', `/v1/tasks/${taskId}/result?wait=30`, { key: keys.admin });
    expect(done.status).toBe(200);
    // The caller allowed to see PII (admin implies pii:read) gets both values back...
    expect(done.json.result.answer).toBe(`${GOOD} We will confirm by email to ${email} and call ${phone}.`);
    expect(done.json.result.question.original).toBe(question);
    expect(done.json.result.guardrails).toMatchObject({ verdict: 'flagged', policyVersion: 1, unsupported: [expect.stringContaining('[EMAIL_ADDRESS_1]')] });
    // ...a key without pii:read sees placeholders.
    const reader = await call('GET', `/v1/tasks/${taskId}`, { key: keys.reader });
    expect(reader.json.result.answer).toBe(`${GOOD} We will confirm by email to [EMAIL_ADDRESS_1] and call [PHONE_NUMBER_1].`);
    expect(reader.text).not.toContain(email);
    // The model never saw them.
    const sent = JSON.stringify(server.requests.map((r) => r.body));
    expect(sent).not.toContain(email);
    expect(sent).not.toContain('555 0132');
    // Temporal's raw history holds neither value (payloads are encrypted, and masked besides)...
    const history = await rawHistory(taskId);
    expect(history.length).toBeGreaterThan(1000);
    for (const value of [email, phone, '555 0132', '4155550132', 'jane.roe']) expect(history.includes(Buffer.from(value))).toBe(false);
    expect(history.includes(Buffer.from('binary/encrypted'))).toBe(true);
    // ...and neither does any log line of the API or the worker.
    expect(logLines.length).toBeGreaterThan(5);
    const logs = logLines.join('');
    expect(logs).toContain('input guard');
    expect(logs).not.toContain(email);
    expect(logs).not.toContain('555 0132');
  });

  it('streams the answer sentence by sentence after the checks, then the final answer', async () => {
    server.enqueue({ content: `${GOOD} Defective printers are exempt from the fee [1].` });
    const start = await call('POST', '/v1/tasks', { key: keys.admin, body: { type: 'answer', input: 'What is the restocking fee for returns?', collection: 'kb' } });
    const res = await fetch(`${base}/v1/tasks/${start.json.taskId}/events`, { headers: { authorization: `Bearer ${keys.admin}` } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = [...(await res.text()).matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((m) => [m[1], JSON.parse(m[2]!)] as const);
    expect(events.map(([type]) => type)).toEqual(['answer_reset', 'answer_delta', 'answer_delta', 'final_answer', 'task_finished']);
    expect(events[1]![1]).toMatchObject({ text: GOOD, attempt: 1 });
    expect(events[3]![1]).toMatchObject({ answer: `${GOOD} Defective printers are exempt from the fee [1].`, guardrails: { verdict: 'passed' } });
    // Resuming after the second event replays only what came after it.
    const resumed = await fetch(`${base}/v1/tasks/${start.json.taskId}/events`, { headers: { authorization: `Bearer ${keys.admin}`, 'last-event-id': '2' } });
    expect([...(await resumed.text()).matchAll(/event: (\w+)/g)].map((m) => m[1])).toEqual(['answer_delta', 'final_answer', 'task_finished']);
  });

  it('lets a reviewer answer a task handed off to a person, with the right role only', async () => {
    const start = await call('POST', '/v1/tasks', { key: keys.admin, body: { type: 'answer', input: 'I want to talk to a person about my refund.', collection: 'kb' } });
    const { taskId } = start.json;
    let task = await call('GET', `/v1/tasks/${taskId}`, { key: keys.reader });
    for (let i = 0; i < 100 && task.json.status !== 'needs_review'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      task = await call('GET', `/v1/tasks/${taskId}`, { key: keys.reader });
    }
    expect(task.json).toMatchObject({ status: 'needs_review', review: { reason: 'handoff: key_phrase' } });
    const listed = await call('GET', '/v1/tasks?status=needs_review', { key: keys.reader });
    expect(listed.json.tasks.map((t: { taskId: string }) => t.taskId)).toContain(taskId);
    expect((await call('POST', `/v1/tasks/${taskId}/review`, { key: keys.reader, body: { decision: 'edit', answer: 'x' } })).status).toBe(403);
    const bad = await call('POST', `/v1/tasks/${taskId}/review`, { key: keys.reviewer, body: { decision: 'edit' } });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: 'invalid_request', message: 'body.answer: an edit needs the answer to send' } } });
    const reviewed = await call('POST', `/v1/tasks/${taskId}/review`, { key: keys.reviewer, body: { decision: 'edit', answer: 'Hi, Sam here: I have refunded your order.' } });
    expect(reviewed).toMatchObject({ status: 200, json: { taskId, accepted: true, answer: 'Hi, Sam here: I have refunded your order.' } });
    const done = await call('GET', `/v1/tasks/${taskId}/result?wait=20`, { key: keys.reader });
    expect(done.json.result).toMatchObject({ answer: 'Hi, Sam here: I have refunded your order.', guardrails: { verdict: 'reviewed' } });
    expect(await call('POST', `/v1/tasks/${taskId}/review`, { key: keys.reviewer, body: { decision: 'approve' } })).toMatchObject({ status: 409 });
  });

  it('validates and versions the guardrail policy document', async () => {
    const current = await call('GET', '/v1/guardrails/policy', { key: keys.reader });
    expect(current.status).toBe(200);
    expect(current.json.policy.pii.input.EMAIL_ADDRESS).toBe('mask');
    const bad = await call('PUT', '/v1/guardrails/policy', { key: keys.admin, body: { pii: { input: { PHONE_NUMBER: 'hide' } } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/^body\.pii\.input\.PHONE_NUMBER: /);
    expect((await call('PUT', '/v1/guardrails/policy', { key: keys.reader, body: {} })).status).toBe(403);
    const saved = await call('PUT', '/v1/guardrails/policy', { key: keys.admin, body: { scope: { blockedTopics: [{ topic: 'legal', phrases: ['lawsuit'] }] } } });
    expect(saved.json.version).toBeGreaterThan(current.json.version);
    expect((await call('GET', '/v1/guardrails/policy', { key: keys.reader })).json.policy.scope.blockedTopics).toEqual([{ topic: 'legal', phrases: ['lawsuit'] }]);
  });
});
