// Traces read back from the real Jaeger (all-in-one v1.75.0, built from its Go module into
// .tools/jaeger/bin by `npx tsx scripts/setup-tools.ts jaeger`, or JAEGER_BIN): in-memory storage,
// its OTLP HTTP receiver and query API on free ports, the service exporting to it through the
// standard OTEL_* variables. One answer task and one agent task, each one trace from its HTTP
// request through the workflow to every activity and the GenAI spans inside them, with the
// parents and attributes asserted through Jaeger's query API; no attribute carries the PII the
// user typed, even with message capture on. Without the binary the test is skipped locally and
// fails in CI (CI=1, set by .ci/run, which builds it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../infra/tracing.js';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { testConfig, testLog, uniqueId } from '../support/harness.js';
import { jaegerBinary, startJaeger, type JaegerServer } from '../support/jaeger.js';

const JAEGER = await jaegerBinary();
const inCi = Boolean(process.env.CI);
if (!JAEGER && !inCi) console.warn('jaeger.test.ts skipped: no Jaeger (npx tsx scripts/setup-tools.ts jaeger, or set JAEGER_BIN)');

/** Values the user types that must never reach a span. */
const EMAIL = 'emily.doe@example.com';
const PHONE = '+1 415 555 0134';

interface JaegerTag {
  key: string;
  value: unknown;
}
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; spanID: string }>;
  tags: JaegerTag[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;
const parentOf = (span: JaegerSpan) => span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

(JAEGER || inCi ? describe : describe.skip)('traces in Jaeger', () => {
  let jaeger: JaegerServer | undefined;
  let query: string;
  let tracing: Tracing | undefined;
  let api: TestApi;
  const service = uniqueId('gatehouse-test');

  beforeAll(async () => {
    if (!JAEGER) throw new Error('no Jaeger: CI must build it (npx tsx scripts/setup-tools.ts jaeger in .ci/run)');
    jaeger = await startJaeger(JAEGER);
    query = jaeger.queryUrl;

    // Exactly what an operator sets, and message capture on: the messages must be the masked ones.
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_SERVICE_NAME: service, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' };
    tracing = startTracing(testConfig(env).tracing, { serviceName: 'unused', log: testLog });
    expect(tracing).toBeDefined();
    api = await startTestApi(env, { tracing });
  });
  afterAll(async () => {
    await api?.close();
    await tracing?.shutdown();
    await jaeger?.stop();
  });

  async function waitForTask(taskId: string): Promise<void> {
    for (let i = 0; i < 120; i++) {
      const task = await api.call('GET', `/v1/tasks/${taskId}`, { key: api.keys.admin });
      if (!['running', 'working'].includes(task.json.status)) {
        expect(task.json.status).toBe('completed');
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${taskId} did not finish`);
  }

  /**
   * The traces holding a span of this workflow's run (its workflow or one of its activities),
   * asked until `done` holds of them or 20 s pass. Reading a task (GET /v1/tasks/…) is a request,
   * and a trace, of its own.
   */
  async function tracesOf(workflowId: string, done: (traces: JaegerTrace[]) => boolean): Promise<JaegerTrace[]> {
    let last: JaegerTrace[] = [];
    for (let i = 0; i < 80; i++) {
      await tracing!.flush();
      const res = await fetch(`${query}/api/traces?service=${service}&limit=100&lookback=1h`);
      const body = (await res.json()) as { data: JaegerTrace[] };
      last = body.data.filter((t) => t.spans.some((s) => /^Run(Workflow|Activity):/.test(s.operationName) && s.tags.some((g) => g.value === workflowId || (typeof g.value === 'string' && g.value.startsWith(`${workflowId}.`)))));
      if (last.length && done(last)) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`no complete trace of ${workflowId} in Jaeger: ${JSON.stringify(last.map((t) => t.spans.map((s) => s.operationName)))}`);
  }

  function expectNoPii(trace: JaegerTrace): void {
    const text = JSON.stringify(trace);
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(PHONE);
    expect(text).not.toContain('5550134');
  }

  it('traces an answer task from its HTTP request through the workflow to retrieval, the guards and the model call', async () => {
    const ingest = await api.call('POST', '/v1/documents', {
      key: api.keys.admin,
      body: { collection: 'manuals', documents: [{ id: 'jams', title: 'Paper jams', text: '# Paper jams\n\nTo clear an E-102 jam, open the rear access door and lower the two green fuser release levers.' }] },
    });
    expect(ingest.status).toBe(202);
    for (let i = 0; i < 80; i++) {
      const state = await api.call('GET', `/v1/ingestions/${ingest.json.ingestionId}`, { key: api.keys.admin });
      if (state.json.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 250));
    }

    api.model.enqueue({ content: 'Open the rear access door and lower the green levers [1].', usage: { promptTokens: 120, completionTokens: 14 } });
    const started = await api.call('POST', '/v1/tasks', {
      key: api.keys.admin,
      body: { type: 'answer', input: `How do I clear an E-102 jam? Reply to ${EMAIL} or ${PHONE}.`, collection: 'manuals' },
    });
    expect(started.status).toBe(202);
    const taskId = started.json.taskId as string;
    await waitForTask(taskId);

    const [trace, ...others] = await tracesOf(taskId, ([t]) => Boolean(t?.spans.some((s) => s.operationName === 'RunWorkflow:answerQuestion')) && Boolean(t?.spans.some((s) => s.operationName.startsWith('guardrail output'))));
    // One trace per task.
    expect(others).toEqual([]);
    const spans = trace!.spans;
    const byId = new Map(spans.map((s) => [s.spanID, s]));
    const one = (name: string) => {
      const found = spans.filter((s) => s.operationName === name);
      expect(found.map((s) => s.operationName), `one ${name} in ${spans.map((s) => s.operationName).join(', ')}`).toEqual([name]);
      return found[0]!;
    };
    const ancestors = (span: JaegerSpan) => {
      const names: string[] = [];
      for (let p = parentOf(span); p; p = parentOf(byId.get(p)!)) names.push(byId.get(p)!.operationName);
      return names;
    };

    // HTTP request → StartWorkflow → RunWorkflow → StartActivity → RunActivity → the activity's own spans.
    const request = one('POST /v1/tasks');
    expect(parentOf(request)).toBeUndefined();
    expect(tag(request, 'http.route')).toBe('/v1/tasks');
    expect(tag(request, 'http.response.status_code')).toBe(202);
    expect(tag(request, 'gatehouse.tenant_id')).toBe(api.tenant);
    const start = one('StartWorkflow:answerQuestion');
    expect(parentOf(start)).toBe(request.spanID);
    const run = one('RunWorkflow:answerQuestion');
    expect(parentOf(run)).toBe(start.spanID);

    const retrieval = one('retrieval manuals');
    expect(ancestors(retrieval).slice(0, 4)).toEqual(['RunActivity:retrieve', 'StartActivity:retrieve', 'RunWorkflow:answerQuestion', 'StartWorkflow:answerQuestion']);
    expect(tag(retrieval, 'gen_ai.operation.name')).toBe('retrieval');
    expect(tag(retrieval, 'gen_ai.data_source.id')).toBe('manuals');
    expect(tag(retrieval, 'gatehouse.retrieval.results')).toBe(1);
    const embeddings = spans.find((s) => s.operationName === 'embeddings feature-hashing' && parentOf(s) === retrieval.spanID);
    expect(embeddings && tag(embeddings, 'gen_ai.operation.name')).toBe('embeddings');

    const chat = one('chat primary');
    expect(ancestors(chat)[0]).toBe('RunActivity:generateAnswer');
    expect(Object.fromEntries(chat.tags.filter((t) => t.key.startsWith('gen_ai.') && !t.key.endsWith('messages')).map((t) => [t.key, t.value]))).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'primary',
      'gen_ai.response.model': 'primary',
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 14,
      'gen_ai.usage.cache_read.input_tokens': 0,
    });
    expect(String(tag(chat, 'gen_ai.response.finish_reasons'))).toContain('stop');
    expect(tag(chat, 'gatehouse.tenant_id')).toBe(api.tenant);
    expect(tag(chat, 'gatehouse.cost_usd')).toBe(0);
    // Captured messages are the masked text the model was sent: placeholders, not the values.
    expect(String(tag(chat, 'gen_ai.input.messages'))).toMatch(/\[EMAIL_ADDRESS_1\]/);

    for (const stage of ['input', 'passages', 'output']) {
      const guard = one(`guardrail ${stage}`);
      expect(tag(guard, 'gatehouse.guardrail.stage')).toBe(stage);
      expect(['pass', 'flag', 'fail']).toContain(tag(guard, 'gatehouse.guardrail.verdict'));
      expect(ancestors(guard)).toContain('RunWorkflow:answerQuestion');
    }
    // The input guard found the email and the phone number: flagged, not failed.
    expect(tag(one('guardrail input'), 'gatehouse.guardrail.decision')).toBe('proceed');
    expect(trace!.processes[request.processID]!.serviceName).toBe(service);
    expectNoPii(trace!);
  });

  it('traces an agent task: every turn an invoke_agent span over its chat, every tool an execute_tool span over its guard', async () => {
    api.model.enqueue(
      { content: '', toolCalls: [{ id: 'c1', name: 'search_documents', arguments: { query: 'E-102 jam' } }], usage: { promptTokens: 200, completionTokens: 20 } },
      { content: 'Open the rear access door [1].', usage: { promptTokens: 300, completionTokens: 10 } },
    );
    const started = await api.call('POST', '/v1/tasks', {
      key: api.keys.admin,
      body: { type: 'agent', input: `How do I clear an E-102 jam? I am ${EMAIL}.`, collection: 'manuals', options: { tools: ['search_documents'] } },
    });
    expect(started.status).toBe(202);
    const taskId = started.json.taskId as string;
    await waitForTask(taskId);

    const [trace, ...others] = await tracesOf(taskId, ([t]) => (t?.spans.filter((s) => s.operationName === 'invoke_agent gatehouse').length ?? 0) >= 2 && Boolean(t?.spans.some((s) => s.operationName === 'RunWorkflow:runAgent')));
    expect(others).toEqual([]);
    const spans = trace!.spans;
    const byId = new Map(spans.map((s) => [s.spanID, s]));
    const named = (name: string) => spans.filter((s) => s.operationName === name);

    const request = named('POST /v1/tasks')[0]!;
    expect(parentOf(request)).toBeUndefined();
    const run = named('RunWorkflow:runAgent')[0]!;
    expect(byId.get(parentOf(run)!)!.operationName).toBe('StartWorkflow:runAgent');

    const turns = named('invoke_agent gatehouse');
    expect(turns).toHaveLength(2);
    for (const turn of turns) {
      expect(byId.get(parentOf(turn)!)!.operationName).toBe('RunActivity:decideNextStep');
      expect(tag(turn, 'gen_ai.conversation.id')).toBe(taskId);
      const chats = spans.filter((s) => parentOf(s) === turn.spanID && s.operationName === 'chat primary');
      expect(chats).toHaveLength(1);
    }
    expect(turns.map((t) => tag(t, 'gatehouse.agent.tool_calls')).sort()).toEqual([0, 1]);

    const [tool, ...moreTools] = named('execute_tool search_documents');
    expect(moreTools).toEqual([]);
    expect(byId.get(parentOf(tool!)!)!.operationName).toBe('RunActivity:runReadTool');
    expect(tag(tool!, 'gen_ai.tool.name')).toBe('search_documents');
    expect(tag(tool!, 'gen_ai.tool.call.id')).toBe('c1');
    expect(tag(tool!, 'gatehouse.tool.ok')).toBe(true);
    // The tool's output guard inside it, and its search's retrieval span.
    const guard = spans.find((s) => s.operationName === 'guardrail tool_output' && parentOf(s) === tool!.spanID);
    expect(guard && tag(guard, 'gatehouse.guardrail.verdict')).toBe('pass');
    expect(named('guardrail input').length).toBeGreaterThanOrEqual(1);
    expect(named('guardrail output').length).toBeGreaterThanOrEqual(1);
    expectNoPii(trace!);
  });
});
