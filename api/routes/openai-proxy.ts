// POST /v1/chat/completions: Gatehouse as a drop-in OpenAI endpoint. The request and the reply
// are OpenAI's shapes (the `openai` client works pointed at `<base>/v1`); the call goes through
// the model gateway of this process's worker, so the key's allow-lists, budgets and rate limits,
// the fallback chain and the retries apply as they do to a task's calls. `stream: true` answers
// with server-sent events in OpenAI's chunk format, ending with `data: [DONE]`; a call that fails
// after chunks went out ends with an `error` frame instead, never a clean [DONE]. The tenant's
// guardrail policy holds on the way in and out (api/proxy-guard.ts: what it checks, and what a
// refusal answers); errors are in OpenAI's shape (api/error-reply.ts).
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AllModelsFailedError } from '../../activities/gateway/gateway.js';
import { GatewayLimits } from '../../activities/gateway/limits/index.js';
import { INVALID_GUARDRAIL_POLICY } from '../../activities/guardrails/policy.js';
import { countTokens } from '../../activities/tokens.js';
import type { ChatMessage, ChatRequest, ChatResult, ToolCall, ToolChoice } from '../../activities/gateway/types.js';
import { requireRole } from '../auth.js';
import { chatCompletion, chatCompletionRequest, embeddingsRequest, embeddingsResponse, openAiErrorBody as errorBody, type ChatCompletion, type ChatCompletionRequest } from '../contracts.js';
import { errorHandler, openAiErrorShape } from '../error-reply.js';
import { ApiError, gatewayRefusal } from '../errors.js';
import { GUARDRAILS_HEADER, ProxyGuard, type GuardedRequest } from '../proxy-guard.js';
import { apiRouter, asksRouter, routeHeader, routeProxyRequest } from '../proxy-route.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

type Content = ChatCompletionRequest['messages'][number]['content'];

const text = (content: Content): string => (typeof content === 'string' ? content : (content ?? []).map((p) => p.text).join(''));

/** OpenAI's messages as the gateway's: system and developer are both the system prompt. */
export function toGatewayMessages(messages: ChatCompletionRequest['messages']): ChatMessage[] {
  return messages.map((m): ChatMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: text(m.content) };
      case 'user':
        return { role: 'user', content: text(m.content) };
      case 'assistant':
        return {
          role: 'assistant',
          content: text(m.content),
          ...(m.tool_calls?.length ? { toolCalls: m.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })) } : {}),
        };
      case 'tool':
        return { role: 'tool', toolCallId: m.tool_call_id, content: text(m.content) };
    }
  });
}

/**
 * The tools offered, after tool_choice: `none` offers none; `required` makes the model call one
 * of them, a named function that one (and only it is offered); `auto` leaves it to the model.
 */
function toolsOf(body: ChatCompletionRequest): Pick<ChatRequest, 'tools' | 'toolChoice'> {
  if (!body.tools?.length || body.tool_choice === 'none') return {};
  const choice = body.tool_choice;
  const offered = typeof choice === 'object' ? body.tools.filter((t) => t.function.name === choice.function.name) : body.tools;
  if (typeof choice === 'object' && !offered.length) {
    throw new ApiError(400, 'invalid_request', `tool_choice.function.name: "${choice.function.name}" is not one of the tools`, { field: 'tool_choice' });
  }
  const tools = offered.map((t) => ({
    name: t.function.name,
    description: t.function.description ?? '',
    parameters: t.function.parameters ?? { type: 'object', properties: {} },
  }));
  const toolChoice: ToolChoice | undefined = typeof choice === 'object' ? { name: choice.function.name } : choice === 'required' ? 'required' : undefined;
  return { tools, ...(toolChoice ? { toolChoice } : {}) };
}

/** The call's usage; none when no model was called (a refused input). */
function usageOf(result: ChatResult | undefined): ChatCompletion['usage'] {
  const { inputTokens, outputTokens, cachedReadTokens } = result?.usage ?? { inputTokens: 0, outputTokens: 0, cachedReadTokens: 0 };
  return { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens, prompt_tokens_details: { cached_tokens: cachedReadTokens ?? 0 } };
}

const toolCallsOf = (calls: ToolCall[]) => calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } }));

/** A failed gateway call as the HTTP error the caller gets. */
export function proxyError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const refusal = gatewayRefusal(err);
  if (refusal) return refusal;
  if (err instanceof ApplicationFailure) {
    switch (err.type) {
      case 'UnknownModel':
        return new ApiError(400, 'invalid_request', `model: ${err.message}`, { field: 'model' });
      case 'ContextTooLarge':
        return new ApiError(400, 'context_too_large', `messages: ${err.message}`, { field: 'messages' });
      case 'ToolsUnsupported':
        return new ApiError(400, 'invalid_request', `tools: ${err.message}`, { field: 'tools' });
      case 'ModelRejected':
        return new ApiError(400, 'model_rejected', err.message);
      case INVALID_GUARDRAIL_POLICY:
        // The tenant's stored policy no longer validates: nothing is sent unguarded.
        return new ApiError(503, 'guardrail_policy_invalid', err.message);
    }
  }
  if (err instanceof AllModelsFailedError) return new ApiError(502, 'upstream_unavailable', err.message, { attempts: err.attempts });
  return new ApiError(502, 'upstream_error', err instanceof Error ? err.message : String(err));
}

/** The response header saying what the caches did (non-streaming replies: a stream's head goes out first). */
const CACHE_HEADER = 'x-gatehouse-cache';

export const openaiProxyRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  const limits = new GatewayLimits(deps.db);
  const router = apiRouter(deps);
  const guard = deps.gateway ? new ProxyGuard({ db: deps.db, keyRing: deps.keyRing, gateway: deps.gateway, log: deps.log }) : undefined;
  // These routes answer in OpenAI's error shape, validation and authentication errors included
  // (this plugin's own context: the rest of the API keeps its shape).
  app.setErrorHandler(errorHandler(openAiErrorShape));
  app.post(
    '/v1/chat/completions',
    {
      schema: {
        tags: ['proxy'],
        summary: 'OpenAI-compatible chat completions through the gateway (models:call)',
        description:
          "OpenAI's request and reply, on Gatehouse API keys: the key's allow-lists, budgets and rate limits, the fallback chain and retries apply. `model` names a registry model, `route:<intent>` a route of the tenant's routing document, or `auto` for the router's choice (a stock answer or a clarifying question is the reply, with no model call; the `x-gatehouse-route` header names the route). With `stream: true` the reply is `text/event-stream`: `data: <chat.completion.chunk>` frames, then `data: [DONE]`; a call that fails mid-stream ends with a `data: {\"error\": …}` frame instead. The tenant's guardrail policy applies: user messages are PII-masked (placeholders restored in the reply for pii:read only) and a refused input or a failing answer is answered with the policy's stock response and `finish_reason: content_filter`; streams are released sentence by sentence after the sentence checks. The `x-gatehouse-guardrails` header says passed, masked or refused.",
        body: chatCompletionRequest,
        response: {
          200: {
            description: 'The completion (JSON), or with stream: true its chunks as server-sent events',
            content: {
              'application/json': { schema: chatCompletion },
              'text/event-stream': { schema: z.string().describe('data: <chat.completion.chunk> frames, then data: [DONE]') },
            },
          },
          400: errorBody,
          401: errorBody,
          403: errorBody,
          413: errorBody,
          429: errorBody,
          502: errorBody,
          503: errorBody,
        },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'models:call');
      const gateway = deps.gateway;
      if (!gateway || !guard) {
        throw new ApiError(503, 'gateway_unavailable', 'this API process runs no worker, so it has no model gateway to call: send proxy requests to a process started with GATEHOUSE_RUN_WORKER=true');
      }
      const body = req.body;
      const { tools, toolChoice } = toolsOf(body);
      const requestId = randomUUID();
      const aborter = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) aborter.abort();
      });
      const chatReq: ChatRequest = {
        messages: toGatewayMessages(body.messages),
        model: asksRouter(body.model) ? undefined : body.model,
        maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
        temperature: body.temperature ?? undefined,
        responseFormat: body.response_format?.type === 'json_object' ? 'json' : undefined,
        tools,
        toolChoice,
        signal: aborter.signal,
      };
      const ctx = { tenantId: principal.tenantId, keyId: principal.keyId, userId: principal.userId, application: principal.application, requestId, step: 'proxy' };
      const id = `chatcmpl-${requestId}`;
      const created = Math.floor(Date.now() / 1000);

      const asked = chatReq.model ?? 'auto';

      // The tenant's guardrail policy (api/proxy-guard.ts): the model sees masked messages, or none.
      let guarded: GuardedRequest;
      try {
        guarded = await guard.screen(principal, chatReq.messages, (tools ?? []).map((t) => t.name), aborter.signal);
      } catch (err) {
        // A policy that cannot be used is the guard's own refusal; anything else is ours (a 500).
        throw err instanceof ApplicationFailure ? proxyError(err) : err;
      }
      // The request's verdict in the log, once it is final (the checks were logged as they ran).
      reply.raw.once('close', () => req.log.info({ tenantId: principal.tenantId, guardScope: guarded.id, guardrails: guarded.verdict }, 'proxy guardrails'));
      chatReq.messages = guarded.messages;
      // The router (api/proxy-route.ts), on the masked messages: `auto` or `route:<intent>`.
      const route = guarded.refusal === undefined ? await routeProxyRequest(router, { tenantId: principal.tenantId, model: body.model, messages: chatReq.messages }) : { kind: 'model' as const };
      if (route.kind === 'model') {
        chatReq.model = route.model;
        chatReq.overflow = route.overflow;
        // The semantic cache is scoped by route, and the route may set its mode and threshold.
        const target = route.decision?.target;
        chatReq.cacheRoute = { name: route.decision?.intent ?? 'default', policy: target && 'cache' in target ? target.cache : undefined };
      }
      const verdictHeader = () => ({ [GUARDRAILS_HEADER]: guarded.verdict, ...routeHeader(route) });
      // A stock answer or a clarifying question: the route's own words, no model call.
      const routed = route.kind === 'answer' ? route.content : undefined;

      if (!body.stream) {
        let answer: Awaited<ReturnType<typeof guarded.answer>>;
        let result: ChatResult | undefined;
        if (guarded.refusal !== undefined) answer = { refused: true, content: guarded.refusal, toolCalls: [] };
        else if (routed !== undefined) answer = { refused: false, content: routed, toolCalls: [] };
        else {
          try {
            result = await gateway.chat(chatReq, ctx);
          } catch (err) {
            throw proxyError(err);
          }
          answer = await guarded.answer(result);
        }
        const toolCalls = toolCallsOf(answer.toolCalls);
        return reply
          .code(200)
          .headers({ ...verdictHeader(), ...cacheHeader(result) })
          .type('application/json')
          .send({
            id,
            object: 'chat.completion' as const,
            created,
            model: result?.model ?? asked,
            choices: [
              {
                index: 0,
                message: { role: 'assistant' as const, content: answer.content, refusal: null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
                finish_reason: answer.refused ? ('content_filter' as const) : toolCalls.length ? ('tool_calls' as const) : ('stop' as const),
                logprobs: null,
              },
            ],
            usage: usageOf(result),
          });
      }

      // Streaming: the event stream opens at the first released text, so a refusal before any (a
      // 403, a 429) is still an ordinary error response with its status. The guard header goes
      // out with the stream's head: the input's verdict (and any sentence's until then); a later
      // refusal shows as finish_reason content_filter.
      const stream = new ChunkStream(reply, id, created, asked, verdictHeader);
      const includeUsage = body.stream_options?.include_usage === true;
      if (guarded.refusal !== undefined) {
        stream.finish({ content: guarded.refusal, toolCalls: [], refused: true }, undefined, includeUsage);
        return reply;
      }
      if (routed !== undefined) {
        stream.finish({ content: routed, toolCalls: [], refused: false }, undefined, includeUsage);
        return reply;
      }
      const gate = tools ? undefined : guarded.sentences((text) => stream.delta(text));
      if (gate) chatReq.onDelta = (delta) => gate.push(delta);
      let result: ChatResult;
      try {
        result = await gateway.chat(chatReq, ctx);
      } catch (err) {
        await gate?.abandon();
        const mapped = proxyError(err);
        if (!stream.opened) throw mapped;
        stream.fail(mapped);
        return reply;
      }
      if (gate) {
        // Released already, sentence by sentence: what is left is the finish.
        const refused = await guarded.endStream(gate, result.content);
        stream.finish({ content: '', toolCalls: [], refused }, result, includeUsage);
      } else {
        stream.finish(await guarded.answer(result), result, includeUsage);
      }
      return reply;
    },
  );

  app.post(
    '/v1/embeddings',
    {
      schema: {
        tags: ['proxy'],
        summary: "OpenAI-compatible embeddings from the deployment's embedder (models:call)",
        description:
          "OpenAI's request and reply. The vectors are the embedder Gatehouse indexes documents with. The caller's rate limits (rpm, tpm) and token budgets count them, as they count chat calls (429 with Retry-After); dollar budgets do not, as no price is configured for the embedder.",
        body: embeddingsRequest,
        response: { 200: embeddingsResponse, 400: errorBody, 401: errorBody, 403: errorBody, 413: errorBody, 429: errorBody, 502: errorBody, 503: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'models:call');
      const embedder = deps.embedder;
      if (!embedder) throw new ApiError(503, 'embedder_unavailable', 'this API process has no embedder to serve embeddings');
      const model = deps.config.embedding.model;
      const asked = req.body.model;
      if (asked && asked !== 'auto' && asked !== model && asked !== embedder.id) {
        throw new ApiError(400, 'invalid_request', `model: "${asked}" is not this deployment's embedding model ("${model}", or "auto")`, { field: 'model' });
      }
      const texts = typeof req.body.input === 'string' ? [req.body.input] : req.body.input;
      // Held to the caller's rate limits (rpm, tpm) and token budgets like a chat call, under
      // this request's id. No dollars: the config prices no embedder, so embeddings count tokens only.
      const tokens = texts.reduce((n, t) => n + countTokens(t), 0);
      let admission: Awaited<ReturnType<GatewayLimits['admitUsage']>>;
      try {
        admission = await limits.admitUsage(
          { tenantId: principal.tenantId, keyId: principal.keyId, userId: principal.userId, application: principal.application, requestId: `emb_${randomUUID()}`, step: 'proxy_embeddings' },
          model,
          { usd: 0, tokens },
        );
      } catch (err) {
        throw proxyError(err);
      }
      let vectors: Float32Array[];
      try {
        vectors = await embedder.embed(texts, 'document');
      } catch (err) {
        await admission.settle(undefined).catch((e: unknown) => req.log.error({ err: String(e) }, 'could not release a reservation'));
        throw new ApiError(502, 'upstream_error', `the embedder failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      await admission.settle({ inputTokens: tokens, outputTokens: 0, costUsd: 0 }).catch((e: unknown) => req.log.error({ err: String(e) }, 'could not settle a reservation'));
      const base64 = req.body.encoding_format === 'base64';
      return {
        object: 'list' as const,
        model,
        data: vectors.map((v, index) => ({
          object: 'embedding' as const,
          index,
          embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : Array.from(v),
        })),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
    },
  );
};

/** What a reply says, after the guards: its text, its tool calls, whether it was refused. */
interface GuardedAnswer {
  content: string | null;
  toolCalls: ToolCall[];
  refused: boolean;
}

/** OpenAI's chunk stream on the raw response: opened lazily, ended with [DONE] or an error frame. */
class ChunkStream {
  opened = false;
  private model: string;

  constructor(
    private readonly reply: FastifyReply,
    private readonly id: string,
    private readonly created: number,
    model: string,
    private readonly headers: () => Record<string, string>,
  ) {
    this.model = model;
  }

  private open(): void {
    if (this.opened) return;
    this.opened = true;
    this.reply.hijack();
    this.reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no', ...this.headers() });
    this.write({ role: 'assistant', content: '' }, null);
  }

  private write(delta: Record<string, unknown>, finishReason: string | null, extra: Record<string, unknown> = {}, choices = true): void {
    const chunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: choices ? [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] : [],
      ...extra,
    };
    this.frame(JSON.stringify(chunk));
  }

  private frame(data: string): void {
    if (!this.reply.raw.destroyed) this.reply.raw.write(`data: ${data}\n\n`);
  }

  delta(content: string): void {
    if (!content) return;
    this.open();
    this.write({ content }, null);
  }

  /** The rest of the answer (text not streamed yet, tool calls), its finish, then [DONE]. `result` is absent when no model was called. */
  finish(answer: GuardedAnswer, result: ChatResult | undefined, includeUsage: boolean): void {
    if (result) this.model = result.model;
    this.open();
    const toolCalls = toolCallsOf(answer.toolCalls);
    if (answer.content) this.write({ content: answer.content }, null);
    // Tool calls are not streamed by the gateway: they come whole, in one chunk.
    if (toolCalls.length) this.write({ tool_calls: toolCalls.map((c, index) => ({ index, ...c })) }, null);
    this.write({}, answer.refused ? 'content_filter' : toolCalls.length ? 'tool_calls' : 'stop');
    if (includeUsage) this.write({}, null, { usage: usageOf(result) }, false);
    this.frame('[DONE]');
    this.reply.raw.end();
  }

  fail(err: ApiError): void {
    // OpenAI's clients throw on a frame carrying `error`; no [DONE] follows.
    this.frame(JSON.stringify({ error: { ...openAiErrorShape(err).error, status: err.statusCode } }));
    this.reply.raw.end();
  }
}

/** What the caches did with a completion, e.g. `exact=stored, semantic=miss` or `semantic=hit; similarity=0.942`. */
function cacheHeader(result: ChatResult | undefined): Record<string, string> {
  const outcomes = [result?.cache, result?.semanticCache].filter((o) => o !== undefined);
  if (!outcomes.length) return {};
  const hit = outcomes.find((o) => o.outcome === 'hit');
  const value = hit ? `${hit.layer}=hit${hit.similarity !== undefined ? `; similarity=${hit.similarity.toFixed(3)}` : ''}` : outcomes.map((o) => `${o.layer}=${o.outcome}`).join(', ');
  return { [CACHE_HEADER]: value };
}
