// What `chat` records in the trace: one `chat {model}` span per attempt at a deployment, in
// OpenTelemetry's GenAI conventions (infra/spans.ts), a child of the activity's span. Tokens
// (cached reads and writes too), cost, finish reason, time to first chunk; the messages only when
// OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is on, as sent — masked text, placeholders.
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import type { ModelProviderName, ModelSpec } from '../../infra/config.js';
import { capturingMessageContent, GATEHOUSE, GEN_AI, inSpan, setAttributes } from '../../infra/spans.js';
import { promptLabel } from '../../contracts/prompts.js';
import type { ModelReply } from './providers/provider.js';
import type { CallContext, ChatRequest, Usage } from './types.js';

/** gen_ai.provider.name's well-known values; the offline model is Gatehouse's own. */
const PROVIDER_NAMES: Record<ModelProviderName, string> = { openai: 'openai', anthropic: 'anthropic', gemini: 'gcp.gemini', local: 'gatehouse.local' };

export interface ChatSpan {
  /** The provider's onDelta, noting when the first chunk arrived. */
  watch(onDelta: ((text: string) => void) | undefined): ((text: string) => void) | undefined;
  answered(reply: ModelReply, usage: Usage): void;
  failed(outcome: string): void;
}

export function inChatSpan<T>(spec: ModelSpec, deploymentId: string, req: ChatRequest, ctx: CallContext, fn: (span: ChatSpan) => Promise<T>): Promise<T> {
  const started = performance.now();
  return inSpan(
    `chat ${spec.providerModel}`,
    {
      [GEN_AI.operation]: 'chat',
      [GEN_AI.provider]: PROVIDER_NAMES[spec.provider],
      [GEN_AI.requestModel]: spec.providerModel,
      [GEN_AI.requestMaxTokens]: req.maxTokens,
      [GEN_AI.requestStream]: Boolean(req.onDelta) && !req.tools?.length && spec.capabilities.streaming,
      'gatehouse.model': spec.name,
      [GATEHOUSE.deployment]: deploymentId,
      [GATEHOUSE.tenant]: ctx.tenantId,
      [GATEHOUSE.task]: ctx.taskId,
      [GATEHOUSE.step]: ctx.step,
      [GATEHOUSE.route]: ctx.route ?? req.cacheRoute?.name,
      [GATEHOUSE.promptVersion]: req.prompt ? promptLabel(req.prompt) : undefined,
      ...(capturingMessageContent() ? { [GEN_AI.inputMessages]: JSON.stringify(req.messages.map(conventionMessage)) } : {}),
    },
    (span) => fn(chatSpan(span, started)),
  );
}

function chatSpan(span: Span, started: number): ChatSpan {
  let firstChunkAt: number | undefined;
  return {
    watch(onDelta) {
      if (!onDelta) return undefined;
      return (text) => {
        if (firstChunkAt === undefined && text) {
          firstChunkAt = performance.now();
          span.setAttribute(GEN_AI.timeToFirstChunk, (firstChunkAt - started) / 1000);
        }
        onDelta(text);
      };
    },
    answered(reply, usage) {
      setAttributes(span, {
        [GEN_AI.responseModel]: reply.responseModel,
        [GEN_AI.finishReasons]: reply.finishReason ? [reply.finishReason] : undefined,
        [GEN_AI.inputTokens]: usage.inputTokens,
        [GEN_AI.outputTokens]: usage.outputTokens,
        [GEN_AI.cacheReadInputTokens]: usage.cachedReadTokens ?? 0,
        [GEN_AI.cacheCreationInputTokens]: usage.cacheWriteTokens ?? 0,
        [GATEHOUSE.costUsd]: usage.costUsd,
        [GATEHOUSE.attemptOutcome]: 'ok',
        ...(capturingMessageContent()
          ? { [GEN_AI.outputMessages]: JSON.stringify([conventionMessage({ role: 'assistant', content: reply.content, toolCalls: reply.toolCalls })]) }
          : {}),
      });
    },
    failed(outcome) {
      span.setAttribute(GATEHOUSE.attemptOutcome, outcome);
      span.setAttribute(GEN_AI.errorType, outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    },
  };
}

/** A message in the convention's shape (role and parts). */
function conventionMessage(m: ChatRequest['messages'][number]): { role: string; parts: unknown[] } {
  const parts: unknown[] = m.content ? [{ type: 'text', content: m.content }] : [];
  if (m.role === 'assistant') for (const c of m.toolCalls ?? []) parts.push({ type: 'tool_call', id: c.id, name: c.name, arguments: c.arguments });
  if (m.role === 'tool') return { role: 'tool', parts: [{ type: 'tool_call_response', id: m.toolCallId, response: m.content }] };
  return { role: m.role, parts };
}
