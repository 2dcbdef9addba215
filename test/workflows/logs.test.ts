// Where a line came from, on the real stack: an answer task started through the API, its
// activities run by a real worker, every line of both written to one in-memory stream. The lines
// written inside activities name the task, workflow, run, activity, attempt and tenant; the API's
// request lines its tenant and task; no line holds the API key, the model key or a payload key.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertApiKey } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import { createLogger } from '../../infra/logger.js';
import type { Services } from '../../infra/services.js';
import { indexDocuments } from '../support/corpus.js';
import { ensureTestTenant, startTestWorker, testConfig, testServices, uniqueId, type TestWorker } from '../support/harness.js';
import { TEST_PAYLOAD_KEYS } from '../support/harness-config.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

type Line = Record<string, unknown> & { msg?: string };

describe('log lines', () => {
  const lines: string[] = [];
  const log = createLogger('debug', 'logs-test', new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(...chunk.toString().split('\n').filter(Boolean)), done()) }));
  const parsed = (): Line[] => lines.map((l) => JSON.parse(l) as Line);
  const tenant = uniqueId('t');
  const apiKey = `gh_test_${uniqueId('logs')}_0123456789abcdef`;
  const modelKey = `sk-${uniqueId('model-key')}-distinctive`;
  let server: ScriptedModelServer;
  let services: Services;
  let worker: TestWorker;
  let app: Awaited<ReturnType<typeof buildApi>>;

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary'] });
    const config = testConfig({ OPENAI_BASE_URL: server.baseUrl, OPENAI_API_KEY: modelKey, GATEHOUSE_CHAT_MODEL: 'primary' });
    services = await testServices('pglite', config);
    await ensureTestTenant(services, tenant);
    await indexDocuments(services, { tenantId: tenant, collection: 'kb', documents: [{ id: 'returns', text: '# Returns\n\nReturns within 30 days get a refund minus a 15% restocking fee.' }] });
    worker = await startTestWorker(services, config, [], log);
    app = await buildApi({ db: services.db, keyRing: services.keyRing, temporal: worker.client, config: { ...config, temporal: { ...config.temporal, taskQueue: worker.taskQueue } }, log });
    await upsertApiKey(services.db, { id: uniqueId('k'), key: apiKey, tenantId: tenant, roles: ['admin'], name: 'logs test' });
  });
  afterAll(async () => {
    await app?.close();
    await worker?.stop();
    await server?.close();
    await services?.close();
  });

  it('an answer task: every activity line names its task, workflow, run, activity, attempt and tenant; the request lines their tenant and task', async () => {
    server.onChat(() => ({ content: 'A 15% restocking fee [1].' }));
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    const start = await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { type: 'answer', input: 'What is the restocking fee?', collection: 'kb' } });
    expect(start.statusCode).toBe(202);
    const { taskId } = start.json<{ taskId: string }>();
    const result = await app.inject({ method: 'GET', url: `/v1/tasks/${taskId}/result?wait=20`, headers });
    expect(result.json()).toMatchObject({ status: 'completed' });

    const activityLines = parsed().filter((l) => l.activity !== undefined && l.sdk === undefined);
    // The guards log their checks from inside their activities (activities/guardrails/check-log.ts).
    expect(activityLines.map((l) => l.msg)).toEqual(expect.arrayContaining(['input guard', 'output guard']));
    const { runId } = await worker.client.workflow.getHandle(taskId).describe();
    for (const line of activityLines) {
      expect(line).toMatchObject({ taskId, workflowId: taskId, runId, tenantId: tenant, attempt: 1 });
      expect(line.activity).toEqual(expect.any(String));
    }

    const requestLines = parsed().filter((l) => l.reqId !== undefined && l.msg === 'request completed');
    expect(requestLines.length).toBeGreaterThanOrEqual(2);
    for (const line of requestLines) expect(line.tenantId).toBe(tenant);
    // GET /v1/tasks/:taskId/result is a task's route: its lines name the task.
    expect(requestLines.filter((l) => l.taskId === taskId)).toHaveLength(1);
    if (process.env.LOGS_TEST_DUMP) console.log(lines.join('\n'));
  });

  it('a sub-task names its root task, and its own workflow id', async () => {
    const root = uniqueId('task');
    const sub = `${root}.agent`;
    server.onChat(() => ({ content: 'A 15% restocking fee [1].' }));
    const handle = await worker.client.workflow.start('answerQuestion', {
      taskQueue: worker.taskQueue,
      workflowId: sub,
      args: [{ tenantId: tenant, collection: 'kb', question: 'What is the restocking fee?', conversation: [], options: { mode: 'ensemble', topK: 3, candidates: 10, rrfK: 60, efSearch: 40 } }],
    });
    await handle.result();
    const mine = parsed().filter((l) => l.workflowId === sub && l.sdk === undefined);
    expect(mine.length).toBeGreaterThan(0);
    for (const line of mine) expect(line).toMatchObject({ taskId: root, tenantId: tenant, runId: handle.firstExecutionRunId });
  });

  it('no line names a field twice (a request logger\'s tenant beside the route\'s own)', () => {
    for (const line of lines) {
      for (const key of ['tenantId', 'taskId', 'workflowId', 'runId', 'activity']) expect(line.split(`"${key}":`).length, line).toBeLessThanOrEqual(2);
    }
  });

  it('no line holds the API key, the model key or a payload key', () => {
    const text = lines.join('\n');
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(apiKey);
    expect(text).not.toContain(modelKey);
    for (const entry of TEST_PAYLOAD_KEYS.split(',')) {
      const material = Buffer.from(entry.split(':')[1]!, 'base64');
      expect(text).not.toContain(material.toString('base64'));
      expect(text).not.toContain(material.toString('hex'));
    }
  });
});
