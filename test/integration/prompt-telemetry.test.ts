// What a versioned prompt leaves in the telemetry of a model call, through the real gateway and
// the scripted model: the span of the step that used it and the call's own `chat {model}` span carry
// `gatehouse.prompt.version`, and
// the call's metrics the `prompt_version` label (an in-memory OpenTelemetry provider stands in for
// the exporter the tracing setup installs).
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { MetricValue } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAnswer } from '../../activities/answering.js';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import type { Passage } from '../../activities/retrieval/types.js';
import { metricsRegistry } from '../../infra/metrics.js';
import { testConfig, testLog, uniqueId } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

describe('a versioned prompt in the telemetry of a model call', () => {
  let server: ScriptedModelServer;
  const exporter = new InMemorySpanExporter();

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary'] });
    // Registers the AsyncLocalStorage context manager too: the active span follows the awaits.
    new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
  });
  afterAll(async () => {
    trace.disable();
    context.disable();
    await server.close();
  });

  it('sets the span attribute and the metrics label of the version the call used', async () => {
    const config = testConfig({ OPENAI_BASE_URL: server.baseUrl, GATEHOUSE_CHAT_MODEL: 'primary' });
    // No db: the built-in version; a tenant's own is the e2e test's.
    const gateway = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, log: testLog });
    const tenant = uniqueId('telemetry');
    server.enqueue({ content: 'A 15% fee [1].' });
    const passage = { chunkId: '1', documentId: 'returns', title: 'Returns', heading: '', text: 'Returns carry a 15% restocking fee.', source: null, score: 1 } as unknown as Passage;
    const out = await trace.getTracer('test').startActiveSpan('generate', async (span) => {
      try {
        return await generateAnswer(gateway, { question: 'What is the fee?', passages: [passage], context: { tenantId: tenant, step: 'generate' } });
      } finally {
        span.end();
      }
    });
    expect(out.prompt).toEqual({ name: 'answer.system', version: 1 });
    expect(exporter.getFinishedSpans().map((s) => [s.name, s.attributes['gatehouse.prompt.version']])).toEqual([
      ['chat primary', 'answer.system@1'],
      ['generate', 'answer.system@1'],
    ]);

    const { values } = await metricsRegistry.getSingleMetric('gatehouse_model_call_duration_seconds')!.get();
    const counted = (values as Array<MetricValue<string> & { metricName?: string }>).filter((v) => v.metricName === 'gatehouse_model_call_duration_seconds_count' && v.labels.tenant === tenant);
    expect(counted.map((v) => [v.labels.prompt_version, v.labels.step, v.value])).toEqual([['answer.system@1', 'generate', 1]]);
  });
});
