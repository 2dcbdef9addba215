// Any OpenAI-compatible Chat Completions endpoint, through the `openai` client.
// Usage: prompt_tokens counts every input token, prompt_tokens_details.cached_tokens the part
// read from the prompt cache; OpenAI charges no cache writes.
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { ModelSpec } from '../../../infra/config.js';
import type { AttemptOutcome, ChatMessage, ChatRequest, ToolCall } from '../types.js';
import {
  clientCache,
  estimatePromptTokens,
  estimateReplyTokens,
  MalformedResponseError,
  StreamCutOffError,
  statusOutcome,
  streams,
  wantsJson,
  type ModelProvider,
  type ModelReply,
  type TokenCounts,
} from './provider.js';

export function openAiProvider(): ModelProvider {
  // Retries are the fallback chain's and Temporal's job; the client tries once.
  const client = clientCache(
    (spec) => new OpenAI({ baseURL: spec.baseUrl, apiKey: spec.apiKey ?? 'not-needed', maxRetries: 0, timeout: spec.timeoutMs }),
  );
  return {
    call: (spec, req) => (streams(spec, req) ? stream(client(spec), spec, req) : complete(client(spec), spec, req)),
    classify: classifyOpenAiError,
  };
}

async function complete(client: OpenAI, spec: ModelSpec, req: ChatRequest): Promise<ModelReply> {
  const res = await client.chat.completions.create(
    {
      model: spec.providerModel,
      messages: req.messages.map(toOpenAiMessage),
      ...(req.tools?.length
        ? {
            tools: req.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })),
            ...(req.toolChoice ? { tool_choice: req.toolChoice === 'required' ? ('required' as const) : { type: 'function' as const, function: { name: req.toolChoice.name } } } : {}),
          }
        : {}),
      max_tokens: req.maxTokens,
      temperature: req.temperature,
      ...(wantsJson(spec, req) ? { response_format: { type: 'json_object' as const } } : {}),
      ...(req.logprobs ? { logprobs: true } : {}),
    },
    { signal: req.signal },
  );
  const choice = res.choices?.[0];
  const logprobs = choice?.logprobs?.content ?? [];
  const toolCalls: ToolCall[] = (choice?.message?.tool_calls ?? []).flatMap((c) =>
    c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
  );
  if (!choice || (typeof choice.message?.content !== 'string' && toolCalls.length === 0)) {
    throw new MalformedResponseError('response has neither message content nor tool calls');
  }
  const content = choice.message.content ?? '';
  return {
    content,
    toolCalls,
    tokens: tokenCounts(res.usage, req, content, toolCalls),
    meanLogprob: logprobs.length ? logprobs.reduce((n, t) => n + t.logprob, 0) / logprobs.length : undefined,
    ...(choice.finish_reason ? { finishReason: choice.finish_reason } : {}),
    ...(res.model ? { responseModel: res.model } : {}),
  };
}

/** A streamed answer: each piece goes to `onDelta` as it arrives; usage from the last chunk. */
async function stream(client: OpenAI, spec: ModelSpec, req: ChatRequest): Promise<ModelReply> {
  const chunks = await client.chat.completions.create(
    {
      model: spec.providerModel,
      messages: req.messages.map(toOpenAiMessage),
      max_tokens: req.maxTokens,
      temperature: req.temperature,
      stream: true,
      stream_options: { include_usage: true },
      ...(wantsJson(spec, req) ? { response_format: { type: 'json_object' as const } } : {}),
      ...(req.logprobs ? { logprobs: true } : {}),
    },
    { signal: req.signal },
  );
  let content = '';
  let usage: CompletionUsage | undefined;
  let logprobSum = 0;
  let logprobCount = 0;
  let finished = false;
  let finishReason: string | undefined;
  let responseModel: string | undefined;
  for await (const chunk of chunks) {
    const choice = chunk.choices?.[0];
    if (choice?.finish_reason) finished = true;
    finishReason = choice?.finish_reason ?? finishReason;
    responseModel = chunk.model || responseModel;
    const delta = choice?.delta?.content;
    if (delta) {
      content += delta;
      req.onDelta!(delta);
    }
    for (const t of choice?.logprobs?.content ?? []) {
      logprobSum += t.logprob;
      logprobCount += 1;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  // The client ends quietly when the connection closes cleanly before [DONE]: without a finish
  // reason the answer was cut off, and a truncated answer is not an answer.
  if (!finished) throw new StreamCutOffError();
  return {
    content,
    toolCalls: [],
    tokens: tokenCounts(usage, req, content, []),
    meanLogprob: logprobCount ? logprobSum / logprobCount : undefined,
    streamed: true,
    ...(finishReason ? { finishReason } : {}),
    ...(responseModel ? { responseModel } : {}),
  };
}

function tokenCounts(usage: CompletionUsage | undefined, req: ChatRequest, content: string, toolCalls: ToolCall[]): TokenCounts {
  return {
    // Providers that omit usage are charged by our own count rather than not at all.
    inputTokens: usage?.prompt_tokens ?? estimatePromptTokens(req),
    outputTokens: usage?.completion_tokens ?? estimateReplyTokens(content, toolCalls),
    cachedReadTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    cacheWriteTokens: 0,
  };
}

function toOpenAiMessage(m: ChatMessage): ChatCompletionMessageParam {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  if (m.role === 'assistant' && m.toolCalls?.length) {
    return {
      role: 'assistant',
      content: m.content || null,
      tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
    };
  }
  return { role: m.role, content: m.content };
}

function classifyOpenAiError(err: unknown): AttemptOutcome | undefined {
  if (err instanceof OpenAI.APIConnectionTimeoutError) return 'timeout';
  if (err instanceof OpenAI.APIConnectionError) return 'unavailable';
  if (err instanceof OpenAI.APIError) {
    if (err.status === 429) return 'rate_limited';
    // An error event inside a 200 stream has no status: the reply broke, not the request.
    if (err.status === undefined) return 'malformed';
    return statusOutcome(err.status);
  }
  return undefined;
}
