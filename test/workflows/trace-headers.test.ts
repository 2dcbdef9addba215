// Tracing without workflow spans (GATEHOUSE_TRACE_WORKFLOW_SPANS=false), on a real Temporal
// server and worker: the sandbox makes no span, yet an answer task is still one trace — every
// RunActivity span a child of the client's StartWorkflow span, the GenAI spans children of their
// activity's. The span tree with the workflow spans is asserted through Jaeger (test/e2e/jaeger.test.ts).
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../infra/services.js';
import { startTracing, type Tracing } from '../../infra/tracing.js';
import { indexDocuments } from '../support/corpus.js';
import { ensureTestTenant, startTestWorker, testConfig, testLog, testServices, uniqueId, type TestWorker } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

describe('tracing with GATEHOUSE_TRACE_WORKFLOW_SPANS=false', () => {
  const tenant = uniqueId('t');
  const exported = new InMemorySpanExporter();
  let server: ScriptedModelServer;
  let services: Services;
  let tracing: Tracing | undefined;
  let worker: TestWorker;

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary'] });
    const env = { OPENAI_BASE_URL: server.baseUrl, GATEHOUSE_CHAT_MODEL: 'primary', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', GATEHOUSE_TRACE_WORKFLOW_SPANS: 'false' };
    const config = testConfig(env);
    tracing = startTracing(config.tracing, { serviceName: 'trace-headers-test', exporter: exported });
    expect(tracing?.workflowSpans).toBe(false);
    services = await testServices('pglite', config);
    await ensureTestTenant(services, tenant);
    await indexDocuments(services, { tenantId: tenant, collection: 'kb', documents: [{ id: 'returns', text: '# Returns\n\nReturns within 30 days get a refund minus a 15% restocking fee.' }] });
    worker = await startTestWorker(services, config, [], testLog, { tracing });
  });
  afterAll(async () => {
    await worker?.stop();
    await tracing?.shutdown();
    await server?.close();
    await services?.close();
  });

  it('an answer task is one trace: no workflow spans, every activity span under the StartWorkflow span', async () => {
    server.onChat(() => ({ content: 'A 15% restocking fee [1].' }));
    const workflowId = uniqueId('task');
    const result = await worker.client.workflow.execute('answerQuestion', {
      taskQueue: worker.taskQueue,
      workflowId,
      args: [{ tenantId: tenant, collection: 'kb', question: 'What is the restocking fee?', conversation: [], options: { mode: 'ensemble', topK: 3, candidates: 10, rrfK: 60, efSearch: 40 } }],
    });
    expect(result).toMatchObject({ answer: expect.stringContaining('15%') });
    await tracing!.flush();

    const start = exported.getFinishedSpans().find((s) => s.name === 'StartWorkflow:answerQuestion' && s.attributes.temporalWorkflowId === workflowId);
    expect(start).toBeDefined();
    const traceId = start!.spanContext().traceId;
    const spans = exported.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const parent = (s: ReadableSpan) => byId.get(s.parentSpanId ?? '');

    expect(spans.filter((s) => /^(RunWorkflow|StartActivity):/.test(s.name))).toEqual([]);
    const activities = spans.filter((s) => s.name.startsWith('RunActivity:'));
    expect(activities.map((s) => s.name)).toEqual(expect.arrayContaining(['RunActivity:retrieve', 'RunActivity:generateAnswer']));
    for (const activity of activities) expect(parent(activity)?.name).toBe('StartWorkflow:answerQuestion');
    // The activities' own spans hang below their RunActivity span, in the same trace.
    const chat = spans.find((s) => s.name === 'chat primary');
    expect(parent(chat!)?.name).toBe('RunActivity:generateAnswer');
    // Nothing from this task started a trace of its own.
    const otherTraces = exported.getFinishedSpans().filter((s) => s.attributes.temporalWorkflowId === workflowId && s.spanContext().traceId !== traceId);
    expect(otherTraces).toEqual([]);
  });
});
