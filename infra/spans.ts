// The spans Gatehouse opens inside its activities, in OpenTelemetry's GenAI semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/, the names of
// @opentelemetry/semantic-conventions 1.45's incubating set, copied as its docs advise for
// unstable names): `chat {model}`, `embeddings {model}`, `retrieval {collection}`,
// `execute_tool {tool}`, `invoke_agent {agent}`, and one `guardrail {stage}` span per guard.
// With no tracer provider registered (tracing off) the API hands out no-op spans.
//
// What an attribute may hold: names (models, providers, tools, collections, routes, stages),
// counts, dollars, verdicts, tenant ids. Never a question, an answer, a passage or a tool's
// arguments — except the chat span's messages when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
// is on, and then the masked text the model itself was sent (placeholders, never the vault's values).
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestStream: 'gen_ai.request.stream',
  responseModel: 'gen_ai.response.model',
  finishReasons: 'gen_ai.response.finish_reasons',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  dataSourceId: 'gen_ai.data_source.id',
  toolName: 'gen_ai.tool.name',
  toolType: 'gen_ai.tool.type',
  toolCallId: 'gen_ai.tool.call.id',
  agentName: 'gen_ai.agent.name',
  conversationId: 'gen_ai.conversation.id',
  embeddingsDimensions: 'gen_ai.embeddings.dimension.count',
  errorType: 'error.type',
} as const;

/** Gatehouse's own attributes, beside the convention's. */
export const GATEHOUSE = {
  tenant: 'gatehouse.tenant_id',
  task: 'gatehouse.task_id',
  step: 'gatehouse.step',
  route: 'gatehouse.route',
  costUsd: 'gatehouse.cost_usd',
  deployment: 'gatehouse.deployment',
  attemptOutcome: 'gatehouse.attempt.outcome',
  cache: 'gatehouse.cache',
  promptVersion: 'gatehouse.prompt.version',
  guardrailStage: 'gatehouse.guardrail.stage',
  guardrailVerdict: 'gatehouse.guardrail.verdict',
  guardrailChecks: 'gatehouse.guardrail.failed_checks',
  retrievalMode: 'gatehouse.retrieval.mode',
  retrievalResults: 'gatehouse.retrieval.results',
  embeddingsInputs: 'gatehouse.embeddings.inputs',
  toolKind: 'gatehouse.tool.kind',
} as const;

export type GenAiOperation = 'chat' | 'embeddings' | 'retrieval' | 'execute_tool' | 'invoke_agent';

const TRACER = 'gatehouse';

let capture = false;

/** Set by infra/tracing.ts from OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT. */
export function captureMessageContent(on: boolean): void {
  capture = on;
}

/** Whether the chat spans carry their (masked) messages. */
export function capturingMessageContent(): boolean {
  return capture;
}

/**
 * Runs fn inside a new active span (so spans fn opens, and `trace.getActiveSpan()` in it, are
 * its children), ended when fn settles. A failure sets the span's status and `error.type` to the
 * error's name, not its message: a message may quote the text that failed.
 */
export function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  // The tracer is asked each time: the global provider may change (tests, the benchmark's rounds).
  return trace.getTracer(TRACER).startActiveSpan(name, { kind, attributes: defined(attributes) }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      markFailed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A span's failure: its status and `error.type`, never the error's message. */
export function markFailed(span: Span, err: unknown): void {
  const type = errorType(err);
  span.setAttribute(GEN_AI.errorType, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

function errorType(err: unknown): string {
  if (err && typeof err === 'object') {
    const type = (err as { type?: unknown }).type;
    if (typeof type === 'string' && type) return type;
    const name = (err as { name?: unknown }).name;
    if (typeof name === 'string' && name) return name;
  }
  return 'Error';
}

/** Attributes without the undefined ones (OpenTelemetry drops them with a warning). */
export function defined(attributes: Attributes): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined));
}

/** Sets the attributes that are defined. */
export function setAttributes(span: Span, attributes: Attributes): void {
  span.setAttributes(defined(attributes));
}
