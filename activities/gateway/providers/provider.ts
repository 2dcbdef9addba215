// What the gateway asks of a provider: one call to one model, and what its errors mean. The
// fallback chain, pricing and the usage ledger stay in the gateway, the same for every provider.
import type { ModelSpec } from '../../../infra/config.js';
import { countTokens } from '../../tokens.js';
import type { AttemptOutcome, ChatRequest, ToolCall } from '../types.js';

export interface ModelProvider {
  /**
   * One call to `spec`'s model, no retries (those are the chain's and Temporal's). When the
   * request has `onDelta` and no tools, and the model streams, each piece of text goes to it as
   * it arrives.
   */
  call(spec: ModelSpec, req: ChatRequest): Promise<ModelReply>;
  /** The gateway's outcome for one of this provider's errors; undefined when it is not one of its. */
  classify(err: unknown): AttemptOutcome | undefined;
}

export interface ModelReply {
  content: string;
  toolCalls: ToolCall[];
  tokens: TokenCounts;
  meanLogprob?: number;
  /** The text went to `onDelta` piece by piece; otherwise the gateway hands it over in one piece. */
  streamed?: boolean;
  /** Why the model stopped, in the provider's words (stop, length, tool_calls, end_turn…), when it said. */
  finishReason?: string;
  /** The model that answered, as the provider names it, when it said. */
  responseModel?: string;
}

/**
 * A call's tokens in one shape for every provider. `inputTokens` counts every input token the
 * model read, cached or not (OpenAI's and Gemini's prompt count; Anthropic's input_tokens plus its
 * cache reads and writes); `cachedReadTokens` and `cacheWriteTokens` are the parts of it read
 * from, and written to, the provider's prompt cache. The three are priced apart (gateway `price`).
 */
export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  cachedReadTokens: number;
  cacheWriteTokens: number;
}

export class MalformedResponseError extends Error {
  override name = 'MalformedResponseError';
}

/** A stream that ended without a finish reason: malformed for the chain, a broken stream for the metrics. */
export class StreamCutOffError extends MalformedResponseError {
  override name = 'StreamCutOffError';
  constructor() {
    super('the stream ended without a finish reason');
  }
}

export function estimatePromptTokens(req: ChatRequest): number {
  // ~4 tokens of per-message framing, as OpenAI's chat format adds.
  const messages = req.messages.reduce((n, m) => {
    const calls = m.role === 'assistant' ? (m.toolCalls ?? []).map((c) => c.name + c.arguments).join('') : '';
    return n + countTokens(m.content + calls) + 4;
  }, 2);
  const tools = req.tools?.length ? countTokens(JSON.stringify(req.tools)) : 0;
  return messages + tools;
}

/** A reply's output tokens by our own count, for providers that omit usage: charged, not free. */
export function estimateReplyTokens(content: string, toolCalls: ToolCall[]): number {
  return countTokens(content + toolCalls.map((c) => c.name + c.arguments).join(''));
}

/** Whether this call streams: the caller asked, no tools are offered, and the model can. */
export function streams(spec: ModelSpec, req: ChatRequest): boolean {
  return Boolean(req.onDelta) && !req.tools?.length && spec.capabilities.streaming;
}

/** Clients cost a connection pool each: one per deployment of a model (its endpoint and key), made on first use. */
export function clientCache<C>(make: (spec: ModelSpec) => C): (spec: ModelSpec) => C {
  const clients = new Map<string, C>();
  return (spec) => {
    const key = `${spec.name}\n${spec.baseUrl ?? ''}\n${spec.apiKey ?? ''}`;
    let client = clients.get(key);
    if (!client) {
      client = make(spec);
      clients.set(key, client);
    }
    return client;
  };
}

/** Whether to ask for JSON output: the caller wants it and the model has a JSON mode (else the prompt alone asks). */
export function wantsJson(spec: ModelSpec, req: ChatRequest): boolean {
  return req.responseFormat === 'json' && spec.capabilities.json;
}

/** An HTTP status as the gateway's outcome: every provider's errors end up here. */
export function statusOutcome(status: number): AttemptOutcome {
  if (status === 429) return 'rate_limited';
  if (status >= 500 || status === 408) return 'server_error';
  return 'rejected';
}

/**
 * Tool-call arguments as an object, for providers that take them parsed (Anthropic, Gemini).
 * Arguments the model wrote unparsable go back as an empty object: the transcript's error
 * observation already says what was wrong with them.
 */
export function parseArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
