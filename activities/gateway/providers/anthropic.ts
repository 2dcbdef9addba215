// Anthropic's Messages API, through `@anthropic-ai/sdk`.
// Usage: input_tokens counts only the input after the last cache breakpoint; cache reads
// (cache_read_input_tokens) and cache writes (cache_creation_input_tokens) come beside it. The
// gateway's inputTokens is their sum, as OpenAI's prompt_tokens would be, with both cached parts
// kept apart for pricing.
// Prompt caching: Anthropic caches a prefix only where the request marks it (cache_control), so
// the adapter marks the stable parts itself (placeCacheBreakpoints).
import Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageDeltaUsage,
  MessageParam,
  TextBlockParam,
  Tool,
  Usage as AnthropicUsage,
} from '@anthropic-ai/sdk/resources/messages/messages';
import type { ModelSpec } from '../../../infra/config.js';
import { countTokens } from '../../tokens.js';
import type { AttemptOutcome, ChatMessage, ChatRequest, ToolCall } from '../types.js';
import {
  clientCache,
  estimatePromptTokens,
  estimateReplyTokens,
  MalformedResponseError,
  parseArguments,
  statusOutcome,
  streams,
  wantsJson,
  type ModelProvider,
  type ModelReply,
  type TokenCounts,
} from './provider.js';

/** The Messages API requires max_tokens; this is the gateway's when the caller sets none. */
const DEFAULT_MAX_TOKENS = 4096;
/**
 * Anthropic has no free-form JSON mode: a JSON reply is a forced call of this tool, whose input
 * is the reply (the approach Anthropic documents for JSON output without a schema).
 */
const JSON_REPLY_TOOL = 'json_reply';

type UsageFields = Pick<AnthropicUsage, 'input_tokens' | 'output_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens'>;

export function anthropicProvider(): ModelProvider {
  // Retries are the fallback chain's and Temporal's job; the client tries once.
  const client = clientCache(
    (spec) =>
      new Anthropic({ baseURL: spec.baseUrl ?? null, apiKey: spec.apiKey ?? 'not-needed', maxRetries: 0, timeout: spec.timeoutMs }),
  );
  return {
    // A JSON reply arrives as a tool call's input, not as text to stream: it is asked for whole.
    call: (spec, req) => (streams(spec, req) && !repliesAsJsonTool(spec, req) ? stream(client(spec), spec, req) : complete(client(spec), spec, req)),
    classify: classifyAnthropicError,
  };
}

function params(spec: ModelSpec, req: ChatRequest): MessageCreateParamsBase {
  // One block per system message, so the breakpoint can go on the last one.
  const system = req.messages.flatMap((m): TextBlockParam[] => (m.role === 'system' ? [{ type: 'text', text: m.content }] : []));
  const json = repliesAsJsonTool(spec, req);
  const tools: Tool[] | undefined = json
    ? [{ name: JSON_REPLY_TOOL, description: 'Reply with this JSON object.', input_schema: { type: 'object' } }]
    : req.tools?.map((t) => ({ name: t.name, description: t.description, input_schema: { type: 'object' as const, ...t.parameters } }));
  const messages = toAnthropicMessages(req.messages);
  placeCacheBreakpoints(spec.promptCacheMinTokens, { tools, system, messages });
  return {
    model: spec.providerModel,
    max_tokens: req.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages,
    ...(system.length ? { system } : {}),
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    ...(tools?.length ? { tools } : {}),
    ...(json
      ? { tool_choice: { type: 'tool' as const, name: JSON_REPLY_TOOL } }
      : tools?.length && req.toolChoice
        ? { tool_choice: req.toolChoice === 'required' ? { type: 'any' as const } : { type: 'tool' as const, name: req.toolChoice.name } }
        : {}),
  };
}

const EPHEMERAL = { type: 'ephemeral' } as const;

/**
 * Marks the stable parts of a prompt for Anthropic's prompt cache, in its prefix order (tools →
 * system → messages): the last tool, the last system block, and the last message before the
 * newest user turn (the conversation so far) — three at most, under Anthropic's limit of four.
 * Each is marked only once the prefix up to it holds the model's minimum (`minTokens`, by our
 * count): Anthropic does not cache a shorter one, and an unused breakpoint only clutters the request.
 */
export function placeCacheBreakpoints(minTokens: number, prompt: { tools: Tool[] | undefined; system: TextBlockParam[]; messages: MessageParam[] }): void {
  let prefixTokens = 0;
  const markIfCacheable = (block: { cache_control?: unknown } | undefined, tokens: number) => {
    prefixTokens += tokens;
    if (block && prefixTokens >= minTokens) block.cache_control = EPHEMERAL;
  };
  markIfCacheable(prompt.tools?.at(-1), prompt.tools?.length ? countTokens(JSON.stringify(prompt.tools)) : 0);
  markIfCacheable(prompt.system.at(-1), prompt.system.reduce((n, b) => n + countTokens(b.text), 0));
  const newestUser = prompt.messages.map((m) => m.role).lastIndexOf('user');
  if (newestUser < 1) return;
  const earlier = prompt.messages.slice(0, newestUser).flatMap((m) => (Array.isArray(m.content) ? m.content : []));
  const last = prompt.messages[newestUser - 1]!.content;
  // Our messages hold text, tool_use and tool_result blocks only, each of which takes a breakpoint.
  markIfCacheable(Array.isArray(last) ? (last.at(-1) as { cache_control?: unknown } | undefined) : undefined, earlier.reduce((n, b) => n + countTokens(blockText(b)), 0));
}

/** What of a content block the model reads as tokens, for the prefix's length. */
function blockText(block: ContentBlockParam): string {
  if (block.type === 'text') return block.text;
  if (block.type === 'tool_use') return block.name + JSON.stringify(block.input);
  if (block.type === 'tool_result') return typeof block.content === 'string' ? block.content : JSON.stringify(block.content ?? '');
  return '';
}

/** JSON output without tools of the caller's: the reply is the forced JSON_REPLY_TOOL call. */
function repliesAsJsonTool(spec: ModelSpec, req: ChatRequest): boolean {
  return wantsJson(spec, req) && !req.tools?.length;
}

async function complete(client: Anthropic, spec: ModelSpec, req: ChatRequest): Promise<ModelReply> {
  const message = await client.messages.create({ ...params(spec, req), stream: false }, { signal: req.signal });
  if (!Array.isArray(message.content)) throw new MalformedResponseError('response has no content blocks');
  const json = repliesAsJsonTool(spec, req);
  let content = '';
  const toolCalls: ToolCall[] = [];
  for (const block of message.content) {
    if (block.type === 'text') content += block.text;
    else if (block.type === 'tool_use' && json && block.name === JSON_REPLY_TOOL) content = JSON.stringify(block.input);
    else if (block.type === 'tool_use') toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input) });
  }
  return {
    content,
    toolCalls,
    tokens: tokenCounts(message.usage, req, content, toolCalls),
    ...(message.stop_reason ? { finishReason: message.stop_reason } : {}),
    ...(message.model ? { responseModel: message.model } : {}),
  };
}

/** A streamed answer: text deltas go to `onDelta`; usage from message_start, completed by message_delta. */
async function stream(client: Anthropic, spec: ModelSpec, req: ChatRequest): Promise<ModelReply> {
  const events = await client.messages.create({ ...params(spec, req), stream: true }, { signal: req.signal });
  let content = '';
  let usage: UsageFields | undefined;
  let stopped = false;
  for await (const event of events) {
    if (event.type === 'message_start') usage = event.message.usage;
    else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
      content += event.delta.text;
      req.onDelta!(event.delta.text);
    } else if (event.type === 'message_delta') usage = mergeDeltaUsage(usage, event.usage);
    else if (event.type === 'message_stop') stopped = true;
  }
  // A stream that ends without message_stop was cut off: a truncated answer is not an answer.
  if (!stopped) throw new MalformedResponseError('the stream ended before message_stop');
  return { content, toolCalls: [], tokens: tokenCounts(usage, req, content, []), streamed: true };
}

/** message_delta's counts are cumulative; its null fields mean "as message_start said". */
function mergeDeltaUsage(start: UsageFields | undefined, delta: MessageDeltaUsage): UsageFields {
  return {
    input_tokens: delta.input_tokens ?? start?.input_tokens ?? 0,
    output_tokens: delta.output_tokens,
    cache_read_input_tokens: delta.cache_read_input_tokens ?? start?.cache_read_input_tokens ?? null,
    cache_creation_input_tokens: delta.cache_creation_input_tokens ?? start?.cache_creation_input_tokens ?? null,
  };
}

function tokenCounts(usage: UsageFields | undefined, req: ChatRequest, content: string, toolCalls: ToolCall[]): TokenCounts {
  if (!usage) return { inputTokens: estimatePromptTokens(req), outputTokens: estimateReplyTokens(content, toolCalls), cachedReadTokens: 0, cacheWriteTokens: 0 };
  const cachedReadTokens = usage.cache_read_input_tokens ?? 0;
  const cacheWriteTokens = usage.cache_creation_input_tokens ?? 0;
  return { inputTokens: usage.input_tokens + cachedReadTokens + cacheWriteTokens, outputTokens: usage.output_tokens, cachedReadTokens, cacheWriteTokens };
}

/**
 * System text goes to `system`; a tool result is a user turn's tool_result block; consecutive
 * turns of one role are merged, as the API wants roles to alternate.
 */
function toAnthropicMessages(messages: ChatMessage[]): MessageParam[] {
  const out: MessageParam[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const turn: MessageParam =
      m.role === 'tool'
        ? { role: 'user', content: [{ type: 'tool_result', tool_use_id: m.toolCallId, content: m.content }] }
        : m.role === 'assistant' && m.toolCalls?.length
          ? {
              role: 'assistant',
              content: [
                ...(m.content ? [{ type: 'text' as const, text: m.content }] : []),
                ...m.toolCalls.map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: parseArguments(c.arguments) })),
              ],
            }
          : { role: m.role, content: [{ type: 'text', text: m.content }] };
    const last = out.at(-1);
    if (last && last.role === turn.role && Array.isArray(last.content) && Array.isArray(turn.content)) last.content.push(...turn.content);
    else out.push(turn);
  }
  return out;
}

function classifyAnthropicError(err: unknown): AttemptOutcome | undefined {
  if (err instanceof Anthropic.APIConnectionTimeoutError) return 'timeout';
  if (err instanceof Anthropic.APIConnectionError) return 'unavailable';
  if (err instanceof Anthropic.APIError) {
    if (err.status !== undefined) return statusOutcome(err.status);
    // An error event inside a 200 stream: its type says what went wrong.
    const type = (err.error as { error?: { type?: string } } | undefined)?.error?.type;
    if (type === 'rate_limit_error') return 'rate_limited';
    if (type === 'overloaded_error' || type === 'api_error') return 'server_error';
    return 'malformed';
  }
  return undefined;
}
