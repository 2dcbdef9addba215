// Tracing's settings, read only from OpenTelemetry's standard variables so any OTLP backend
// (Jaeger, Tempo, an OpenTelemetry Collector) is configured the way its own docs say. No endpoint
// means no tracing at all: no provider, no interceptors, nothing on the hot path. One knob is
// Gatehouse's own, GATEHOUSE_TRACE_WORKFLOW_SPANS: whether the workflow sandbox makes spans.
// https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
import { z } from 'zod';

export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export interface TracingSettings {
  /** Where spans are POSTed (OTLP over HTTP, protobuf): the traces endpoint itself, `/v1/traces` included. */
  tracesEndpoint: string;
  /** OTEL_SERVICE_NAME; unset, each process names itself (gatehouse, gatehouse-worker). */
  serviceName?: string;
  /** OTEL_RESOURCE_ATTRIBUTES: key=value pairs every span's resource carries (deployment.environment=prod…). */
  resourceAttributes: Record<string, string>;
  sampler: SamplerName;
  /** OTEL_TRACES_SAMPLER_ARG: the ratio of the *traceidratio samplers. */
  samplerRatio: number;
  /** OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: prompts and replies on the chat spans, masked text only. */
  captureMessageContent: boolean;
  /**
   * GATEHOUSE_TRACE_WORKFLOW_SPANS (default true): the RunWorkflow and StartActivity spans made
   * inside the workflow sandbox. Off, the trace context only passes through the workflow to its
   * activities (workers/workflow-trace-headers.ts): a task is still one trace, and watching a
   * 20-step agent task costs 2% instead of 12% (bench/results/observability.md).
   */
  workflowSpans: boolean;
}

const bool = z.enum(['true', 'false', '1', '0'], { message: 'expected true or false' }).transform((v) => v === 'true' || v === '1');
const endpoint = z.url({ message: 'expected an http(s) URL such as http://localhost:4318' }).refine((u) => /^https?:/.test(u), 'expected an http(s) URL (OTLP over HTTP)');

const schema = z.object({
  OTEL_SDK_DISABLED: bool.default(false),
  OTEL_TRACES_EXPORTER: z.string().default('otlp'),
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'grpc', 'http/json']).default('http/protobuf'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/protobuf', 'grpc', 'http/json']).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_RESOURCE_ATTRIBUTES: z.string().optional(),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number({ message: 'expected a ratio between 0 and 1' }).min(0).max(1).default(1),
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: bool.default(false),
  GATEHOUSE_TRACE_WORKFLOW_SPANS: bool.default(true),
});

/** The tracing settings of an environment (empty strings already removed), or undefined when tracing is off. Throws with the variable's name. */
export function tracingSettings(env: Record<string, string>): TracingSettings | undefined {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TracingConfigError(`${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT;
  // The signal-specific endpoint is used as given; the base one gets the signal's path (the spec's rule).
  const tracesEndpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (e.OTEL_SDK_DISABLED || !tracesEndpoint || e.OTEL_TRACES_EXPORTER.split(',').every((x) => x.trim() !== 'otlp')) return undefined;
  const protocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol !== 'http/protobuf') {
    const name = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
    throw new TracingConfigError(`${name}: only http/protobuf is supported (got "${protocol}"); point it at the collector's OTLP HTTP port, 4318`);
  }
  return {
    tracesEndpoint,
    serviceName: e.OTEL_SERVICE_NAME,
    resourceAttributes: parseResourceAttributes(e.OTEL_RESOURCE_ATTRIBUTES),
    sampler: e.OTEL_TRACES_SAMPLER,
    samplerRatio: e.OTEL_TRACES_SAMPLER_ARG,
    captureMessageContent: e.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
    workflowSpans: e.GATEHOUSE_TRACE_WORKFLOW_SPANS,
  };
}

export class TracingConfigError extends Error {}

/** `key1=value1,key2=value2`, values percent-decoded (the spec's W3C Baggage octets). */
function parseResourceAttributes(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim();
    try {
      out[key] = decodeURIComponent(value);
    } catch {
      throw new TracingConfigError(`OTEL_RESOURCE_ATTRIBUTES: "${key}" has a badly encoded value`);
    }
  }
  return out;
}
