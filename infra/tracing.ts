// OpenTelemetry tracing for the process: one NodeTracerProvider exporting OTLP over HTTP
// (protobuf), configured by the standard OTEL_* variables (infra/tracing-config.ts). Without an
// endpoint it is never started: the OpenTelemetry API's no-op tracer answers every span, and the
// Temporal interceptors are not installed. One trace per task: the API's request span
// (api/request-spans.ts), Temporal's client, workflow and activity spans
// (@temporalio/interceptors-opentelemetry, wired in workers/worker.ts and infra/temporal.ts),
// and the GenAI spans the activities open (infra/spans.ts).
import { context, isSpanContextValid, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import type { ExportResult } from '@opentelemetry/core';
import { useSpanIds } from './log-context.js';
import type { Logger } from './logger.js';
import { captureMessageContent } from './spans.js';
import type { SamplerName, TracingSettings } from './tracing-config.js';

export type { TracingSettings };

export interface Tracing {
  /** The registered provider (the observability benchmark unregisters and re-registers it between rounds). */
  provider: NodeTracerProvider;
  /** Where finished spans go: the workflow sandbox's spans reach it through the SDK's exporter sink. */
  processor: SpanProcessor;
  resource: Resource;
  /** Whether the workflow sandbox makes spans (TracingSettings.workflowSpans) or only passes the context on. */
  workflowSpans: boolean;
  /** Sends what is buffered. */
  flush(): Promise<void>;
  /** Flushes, then unregisters the provider: spans after it are no-ops again. */
  shutdown(): Promise<void>;
}

export interface StartTracingOptions {
  /** The service name when OTEL_SERVICE_NAME is unset. */
  serviceName: string;
  log?: Logger;
  /** Instead of the OTLP exporter (tests, the benchmark's in-process sink). */
  exporter?: SpanExporter;
}

/**
 * Starts tracing when `settings` says so (config.tracing), and registers it as the process's
 * global provider, context manager (AsyncLocalStorage) and W3C trace-context propagator.
 * Undefined when tracing is off. One at a time per process.
 */
export function startTracing(settings: TracingSettings | undefined, opts: StartTracingOptions): Tracing | undefined {
  if (!settings) return undefined;
  const resource = new Resource({ ...settings.resourceAttributes, 'service.name': settings.serviceName ?? opts.serviceName });
  const exporter = new ScrubbedExporter(opts.exporter ?? new OTLPTraceExporter({ url: settings.tracesEndpoint }));
  // Batched and sent in the background: a request never waits for the collector.
  const processor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000, maxQueueSize: 8_192 });
  const provider = new NodeTracerProvider({ resource, sampler: sampler(settings.sampler, settings.samplerRatio), spanProcessors: [processor] });
  provider.register();
  captureMessageContent(settings.captureMessageContent);
  // Every log line written inside a span carries its ids (infra/logger.ts's mixin reads them).
  useSpanIds(() => {
    const ids = trace.getActiveSpan()?.spanContext();
    return ids && isSpanContextValid(ids) ? { traceId: ids.traceId, spanId: ids.spanId } : undefined;
  });
  opts.log?.info(
    { endpoint: opts.exporter ? '(in process)' : settings.tracesEndpoint, sampler: settings.sampler, service: resource.attributes['service.name'], workflowSpans: settings.workflowSpans },
    'tracing on',
  );
  return {
    provider,
    processor,
    resource,
    workflowSpans: settings.workflowSpans,
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.forceFlush().catch((err: unknown) => opts.log?.warn({ err: String(err) }, 'could not flush the last spans'));
      await provider.shutdown().catch(() => undefined);
      useSpanIds(() => undefined);
      captureMessageContent(false);
      // The globals go too, so a later startTracing (a test, the benchmark's next round) registers afresh.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

function sampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

/**
 * Error messages leave the process without their text. Temporal's interceptors record a failed
 * workflow's or activity's exception with its message, and a message may quote what failed (a
 * provider's 400 echoing the prompt, a tool's error): spans keep the error's type and stack frames,
 * the status says only the type.
 */
export class ScrubbedExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans.map(scrubbed), done);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

function scrubbed(span: ReadableSpan): ReadableSpan {
  const failed = span.status.message !== undefined || span.events.some((e) => e.name === 'exception');
  if (!failed) return span;
  const errorType = span.attributes['error.type'];
  const events = span.events.map((e) => {
    if (e.name !== 'exception' || !e.attributes) return e;
    const { 'exception.message': _message, 'exception.stacktrace': stack, ...rest } = e.attributes;
    const frames = typeof stack === 'string' ? stack.split('\n').filter((line) => /^\s+at /.test(line)).join('\n') : undefined;
    return { ...e, attributes: { ...rest, ...(frames ? { 'exception.stacktrace': frames } : {}) } };
  });
  const type = typeof errorType === 'string' ? errorType : events.find((e) => e.name === 'exception')?.attributes?.['exception.type'];
  const status = span.status.message === undefined ? span.status : { code: span.status.code, ...(type !== undefined ? { message: String(type) } : {}) };
  // The span's own methods (spanContext()) live on its prototype: keep it, shadow two fields.
  return Object.create(span, { status: { value: status, enumerable: true }, events: { value: events, enumerable: true } }) as ReadableSpan;
}
