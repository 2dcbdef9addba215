// Tracing's settings from the standard OTEL_* variables, the provider with an in-memory exporter:
// log lines written inside a span carry its ids (and none outside one, or once tracing stops),
// failures leave the process without their message, and the GenAI helpers' spans nest under
// the active span.
import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../infra/config.js';
import { createLogger } from '../../infra/logger.js';
import { inSpan } from '../../infra/spans.js';
import { startTracing, type Tracing } from '../../infra/tracing.js';
import { tracingSettings } from '../../infra/tracing-config.js';

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('info', 'tracing-test', new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
  return { log, lines };
}

describe('tracing settings', () => {
  it('is off without an endpoint, when the SDK is disabled, or with no otlp exporter', () => {
    expect(tracingSettings({})).toBeUndefined();
    expect(tracingSettings({ ...ENDPOINT, OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(tracingSettings({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(loadConfig({ GATEHOUSE_DATA_DIR: '/tmp/x' }).tracing).toBeUndefined();
  });

  it('adds /v1/traces to the base endpoint and takes the traces endpoint as given', () => {
    expect(tracingSettings(ENDPOINT)).toMatchObject({ tracesEndpoint: 'http://collector:4318/v1/traces', sampler: 'parentbased_always_on', captureMessageContent: false });
    expect(tracingSettings({ ...ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/otlp/traces' })!.tracesEndpoint).toBe('http://tempo:4318/otlp/traces');
    expect(
      tracingSettings({ ...ENDPOINT, OTEL_SERVICE_NAME: 'gh', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,team=a%20b', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }),
    ).toMatchObject({ serviceName: 'gh', resourceAttributes: { 'deployment.environment': 'prod', team: 'a b' }, sampler: 'traceidratio', samplerRatio: 0.25 });
  });

  it('makes workflow spans unless GATEHOUSE_TRACE_WORKFLOW_SPANS=false', () => {
    expect(tracingSettings(ENDPOINT)!.workflowSpans).toBe(true);
    expect(tracingSettings({ ...ENDPOINT, GATEHOUSE_TRACE_WORKFLOW_SPANS: 'false' })!.workflowSpans).toBe(false);
    expect(() => loadConfig({ ...ENDPOINT, GATEHOUSE_TRACE_WORKFLOW_SPANS: 'no' })).toThrow(new ConfigError('GATEHOUSE_TRACE_WORKFLOW_SPANS: expected true or false'));
  });

  it('refuses what it cannot do, naming the variable', () => {
    expect(() => loadConfig({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(new ConfigError('OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported (got "grpc"); point it at the collector\'s OTLP HTTP port, 4318'));
    expect(() => loadConfig({ ...ENDPOINT, OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/^OTEL_TRACES_SAMPLER: /);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/^OTEL_EXPORTER_OTLP_ENDPOINT: /);
  });
});

describe('the tracer', () => {
  let tracing: Tracing | undefined;
  // A provider's shutdown stops its exporter: each test has its own.
  let exported: InMemorySpanExporter;
  beforeEach(() => {
    exported = new InMemorySpanExporter();
  });
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  async function finished(): Promise<ReadableSpan[]> {
    await tracing!.flush();
    return exported.getFinishedSpans();
  }

  it('writes the active span ids on every line logged inside a span, and none outside one', async () => {
    const { log, lines } = capture();
    tracing = startTracing(tracingSettings(ENDPOINT), { serviceName: 'unit', exporter: exported });
    const ids = await inSpan('outer', {}, async (outer) => {
      log.info('in outer');
      await inSpan('inner', {}, async () => {
        await new Promise((r) => setTimeout(r, 1));
        log.child({ component: 'gateway' }).info('in inner');
      });
      return outer.spanContext();
    });
    log.info('outside');
    const [inner, outer] = await finished();
    expect(inner!.parentSpanId).toBe(outer!.spanContext().spanId);
    expect(lines[0]).toMatchObject({ traceId: ids.traceId, spanId: ids.spanId, msg: 'in outer' });
    expect(lines[1]).toMatchObject({ traceId: ids.traceId, spanId: inner!.spanContext().spanId, msg: 'in inner' });
    expect(lines[2]).not.toHaveProperty('traceId');
    expect(outer!.resource.attributes['service.name']).toBe('unit');

    await tracing!.shutdown();
    tracing = undefined;
    // Off again: no-op spans, no ids on lines.
    await inSpan('after', {}, async () => log.info('after shutdown'));
    expect(lines[3]).not.toHaveProperty('traceId');
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it("exports a failure's type and stack frames, never its message", async () => {
    tracing = startTracing(tracingSettings(ENDPOINT), { serviceName: 'unit', exporter: exported });
    const secret = 'emily.doe@example.com';
    await expect(inSpan('fails', { 'gatehouse.step': 'generate' }, async () => Promise.reject(Object.assign(new Error(`bad address ${secret}`), { name: 'InvalidAddress' })))).rejects.toThrow(secret);
    // As Temporal's interceptors record an activity's failure: status message and exception event.
    trace.getTracer('t').startActiveSpan('interceptor', (span) => {
      span.recordException(new Error(`provider said: ${secret}`));
      span.setStatus({ code: 2, message: `provider said: ${secret}` });
      span.end();
    });
    const spans = await finished();
    expect(spans.map((s) => s.name)).toEqual(['fails', 'interceptor']);
    expect(JSON.stringify(spans.map((s) => ({ status: s.status, events: s.events, attributes: s.attributes })))).not.toContain(secret);
    expect(spans[0]!.status).toEqual({ code: 2, message: 'InvalidAddress' });
    expect(spans[0]!.attributes['error.type']).toBe('InvalidAddress');
    const event = spans[1]!.events[0]!;
    expect(event.attributes).toMatchObject({ 'exception.type': 'Error' });
    expect(String(event.attributes!['exception.stacktrace'])).toMatch(/^\s+at /);
    expect(spans[1]!.status).toEqual({ code: 2, message: 'Error' });
    // The exported copy keeps the span's own methods.
    expect(spans[1]!.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
