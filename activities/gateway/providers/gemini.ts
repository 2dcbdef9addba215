// Google Gemini's generateContent API, through `@google/genai`.
// Usage: promptTokenCount counts every prompt token, cachedContentTokenCount the part served
// from a context cache (Gemini bills cache storage by the hour, not per write: no cache writes
// here); toolUsePromptTokenCount is input too, and thoughtsTokenCount is output (billed as such).
import { randomUUID } from 'node:crypto';
import { ApiError, FunctionCallingConfigMode, GoogleGenAI, type Content, type GenerateContentConfig, type GenerateContentResponse, type GenerateContentResponseUsageMetadata, type Part } from '@google/genai';
import type { ModelSpec } from '../../../infra/config.js';
import type { AttemptOutcome, ChatMessage, ChatRequest, ToolCall } from '../types.js';
import {
  clientCache,
  estimatePromptTokens,
  estimateReplyTokens,
  MalformedResponseError,
  StreamCutOffError,
  parseArguments,
  statusOutcome,
  streams,
  wantsJson,
  type ModelProvider,
  type ModelReply,
  type TokenCounts,
} from './provider.js';

export function geminiProvider(): ModelProvider {
  // No retryOptions: the SDK then tries once (retries are the chain's and Temporal's job).
  const client = clientCache(
    (spec) => new GoogleGenAI({ apiKey: spec.apiKey ?? 'not-needed', httpOptions: { baseUrl: spec.baseUrl, timeout: spec.timeoutMs } }),
  );
  return {
    call: (spec, req) => (streams(spec, req) ? stream(client(spec), spec, req) : complete(client(spec), spec, req)),
    classify: classifyGeminiError,
  };
}

function request(spec: ModelSpec, req: ChatRequest): { model: string; contents: Content[]; config: GenerateContentConfig } {
  const system = req.messages.flatMap((m) => (m.role === 'system' ? [m.content] : [])).join('\n\n');
  return {
    model: spec.providerModel,
    contents: toGeminiContents(req.messages),
    config: {
      ...(system ? { systemInstruction: system } : {}),
      ...(req.maxTokens !== undefined ? { maxOutputTokens: req.maxTokens } : {}),
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      ...(req.tools?.length
        ? {
            tools: [{ functionDeclarations: req.tools.map((t) => ({ name: t.name, description: t.description, parametersJsonSchema: t.parameters })) }],
            // ANY: the model must call one of the allowed functions (all of them, or the one named).
            ...(req.toolChoice
              ? { toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, ...(req.toolChoice === 'required' ? {} : { allowedFunctionNames: [req.toolChoice.name] }) } } }
              : {}),
          }
        : {}),
      ...(wantsJson(spec, req) && !req.tools?.length ? { responseMimeType: 'application/json' } : {}),
      abortSignal: req.signal,
    },
  };
}

async function complete(client: GoogleGenAI, spec: ModelSpec, req: ChatRequest): Promise<ModelReply> {
  const res = await client.models.generateContent(request(spec, req));
  const parts = res.candidates?.[0]?.content?.parts;
  if (!parts) throw new MalformedResponseError(`response has no candidate content${res.promptFeedback?.blockReason ? ` (blocked: ${res.promptFeedback.blockReason})` : ''}`);
  const content = textOf(parts);
  const toolCalls: ToolCall[] = parts.flatMap((p) =>
    // The Gemini API often leaves ids out; results are paired with calls by id, so each gets one.
    p.functionCall?.name ? [{ id: p.functionCall.id ?? `gemini_${randomUUID().slice(0, 12)}`, name: p.functionCall.name, arguments: JSON.stringify(p.functionCall.args ?? {}) }] : [],
  );
  return { content, toolCalls, tokens: tokenCounts(res.usageMetadata, req, content, toolCalls) };
}

/** A streamed answer: each chunk's text goes to `onDelta`; usage from the last chunk that has it. */
async function stream(client: GoogleGenAI, spec: ModelSpec, req: ChatRequest): Promise<ModelReply> {
  const chunks = await client.models.generateContentStream(request(spec, req));
  let content = '';
  let usage: GenerateContentResponseUsageMetadata | undefined;
  let finished = false;
  for await (const chunk of chunks as AsyncGenerator<GenerateContentResponse>) {
    const candidate = chunk.candidates?.[0];
    const delta = textOf(candidate?.content?.parts ?? []);
    if (delta) {
      content += delta;
      req.onDelta!(delta);
    }
    if (candidate?.finishReason) finished = true;
    if (chunk.usageMetadata) usage = chunk.usageMetadata;
  }
  // A stream that ends without a finish reason was cut off: a truncated answer is not an answer.
  if (!finished) throw new StreamCutOffError();
  return { content, toolCalls: [], tokens: tokenCounts(usage, req, content, []), streamed: true };
}

/** Text parts only: a thinking model's thought summaries are not the answer. */
function textOf(parts: Part[]): string {
  return parts.map((p) => (p.text && !p.thought ? p.text : '')).join('');
}

function tokenCounts(usage: GenerateContentResponseUsageMetadata | undefined, req: ChatRequest, content: string, toolCalls: ToolCall[]): TokenCounts {
  if (usage?.promptTokenCount === undefined) {
    return { inputTokens: estimatePromptTokens(req), outputTokens: estimateReplyTokens(content, toolCalls), cachedReadTokens: 0, cacheWriteTokens: 0 };
  }
  return {
    inputTokens: usage.promptTokenCount + (usage.toolUsePromptTokenCount ?? 0),
    outputTokens: (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0),
    cachedReadTokens: usage.cachedContentTokenCount ?? 0,
    cacheWriteTokens: 0,
  };
}

/**
 * The assistant is the `model` role; a tool result is a user turn's functionResponse part, named
 * after the call it answers, its text under `output` (the key Gemini reads a function's result
 * from); consecutive turns of one role are merged.
 */
function toGeminiContents(messages: ChatMessage[]): Content[] {
  const callNames = new Map(messages.flatMap((m) => (m.role === 'assistant' ? (m.toolCalls ?? []).map((c) => [c.id, c.name] as const) : [])));
  const out: Content[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const turn: Content =
      m.role === 'tool'
        ? { role: 'user', parts: [{ functionResponse: { id: m.toolCallId, name: callNames.get(m.toolCallId) ?? 'unknown', response: { output: m.content } } }] }
        : m.role === 'assistant'
          ? {
              role: 'model',
              parts: [
                ...(m.content ? [{ text: m.content }] : []),
                ...(m.toolCalls ?? []).map((c) => ({ functionCall: { id: c.id, name: c.name, args: parseArguments(c.arguments) } })),
              ],
            }
          : { role: 'user', parts: [{ text: m.content }] };
    const last = out.at(-1);
    if (last && last.role === turn.role) last.parts = [...(last.parts ?? []), ...(turn.parts ?? [])];
    else out.push(turn);
  }
  return out;
}

function classifyGeminiError(err: unknown): AttemptOutcome | undefined {
  if (err instanceof ApiError) return statusOutcome(err.status);
  // The SDK's own timer aborts the fetch (the caller's cancellation is handled before this).
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) return 'timeout';
  return undefined;
}
