// The model gateway: one interface to every model in the registry. It walks the fallback
// chain on rate limits, server errors, timeouts and malformed replies; skips models whose
// context window is too small; prices every call from the registry; and records each
// attempt (tokens, cost, latency, outcome) in model_usage.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { countTokens } from '../tokens.js';
import OpenAI from 'openai';
import type { ModelSpec } from '../../infra/config.js';
import type { Db } from '../../infra/db/pool.js';
import type { Logger } from '../../infra/logger.js';
import type { Embedder } from '../retrieval/embeddings.js';
import { GatewayLimits } from './limits/index.js';
import { runLocalModel } from './local/index.js';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Attempt, AttemptOutcome, CallContext, ChatMessage, ChatRequest, ChatResult, ToolCall, Usage } from './types.js';

export interface GatewayOptions {
  registry: ModelSpec[];
  chain: string[];
  db?: Db;
  log?: Logger;
  /** Lets the offline local model rank sentences by meaning, not only by shared words. */
  embedder?: Embedder;
}

export class ModelGateway {
  private readonly clients = new Map<string, OpenAI>();
  /** One function for the gateway's life: the local classifier caches its exemplar vectors per function. */
  private readonly embedQueries: ((texts: string[]) => Promise<Float32Array[]>) | undefined;
  private readonly limits: GatewayLimits | undefined;

  constructor(private readonly opts: GatewayOptions) {
    const embedder = opts.embedder;
    this.embedQueries = embedder ? (texts) => embedder.embed(texts, 'query') : undefined;
    this.limits = opts.db ? new GatewayLimits(opts.db) : undefined;
  }

  model(name: string): ModelSpec | undefined {
    return this.opts.registry.find((m) => m.name === name);
  }

  /** The models tried for a request: the requested (or default) model first, then the fallbacks. */
  chainFor(requested?: string): ModelSpec[] {
    const names = requested ? [requested, ...this.opts.chain.filter((n) => n !== requested)] : this.opts.chain;
    return names.map((n) => {
      const spec = this.model(n);
      if (!spec) throw ApplicationFailure.nonRetryable(`unknown model "${n}"`, 'UnknownModel');
      return spec;
    });
  }

  /**
   * A model call, held to the caller's allow-lists, budgets and rate limits (limits/): admitted
   * (and its estimate reserved) before, settled to its real usage after, released if it fails.
   */
  async chat(req: ChatRequest, ctx: CallContext = {}): Promise<ChatResult> {
    const chain = this.chainFor(req.model);
    if (!this.limits) return this.callChain(req, ctx, chain);
    const promptTokens = estimatePromptTokens(req);
    const maxTokens = req.maxTokens ?? 512;
    const admission = await this.limits.admit(ctx, chain, req.model, (spec) => ({
      usd: price(spec, promptTokens, maxTokens).costUsd,
      tokens: promptTokens + maxTokens,
    }));
    let result: ChatResult;
    try {
      result = await this.callChain(req, admission.context, admission.chain);
    } catch (err) {
      await admission.settle(undefined).catch((e: unknown) => this.opts.log?.error({ err: String(e), ...ctx }, 'could not release a reservation'));
      throw err;
    }
    // The answer is paid for: an unsettled reservation keeps holding its estimate until it goes stale.
    await admission.settle(result.usage).catch((e: unknown) => this.opts.log?.error({ err: String(e), ...ctx }, 'could not settle a reservation'));
    return result;
  }

  private async callChain(req: ChatRequest, ctx: CallContext, chain: ModelSpec[]): Promise<ChatResult> {
    const started = performance.now();
    const attempts: Attempt[] = [];
    const promptTokens = estimatePromptTokens(req);
    for (const spec of chain) {
      if (promptTokens + (req.maxTokens ?? 512) > spec.contextWindow) {
        attempts.push({ model: spec.name, outcome: 'context_overflow', latencyMs: 0, error: `${promptTokens} prompt tokens` });
        continue;
      }
      const t0 = performance.now();
      try {
        const { content, toolCalls, inputTokens, outputTokens, meanLogprob } =
          spec.provider === 'local' ? await this.localCall(req) : req.onDelta && !req.tools?.length ? await this.remoteStream(spec, req) : await this.remoteCall(spec, req);
        const usage = price(spec, inputTokens, outputTokens);
        const latencyMs = Math.round(performance.now() - t0);
        attempts.push({ model: spec.name, outcome: 'ok', latencyMs });
        await this.record(spec, ctx, usage, latencyMs, 'ok');
        return { content, toolCalls, model: spec.name, usage, latencyMs: Math.round(performance.now() - started), attempts, meanLogprob };
      } catch (err) {
        // Cancelled by the caller: not the model's fault, and no reason to try another.
        if (req.signal?.aborted) throw err;
        const latencyMs = Math.round(performance.now() - t0);
        const outcome = classify(err);
        const message = err instanceof Error ? err.message : String(err);
        attempts.push({ model: spec.name, outcome, latencyMs, error: message.slice(0, 200) });
        await this.record(spec, ctx, { inputTokens: 0, outputTokens: 0, costUsd: 0 }, latencyMs, outcome, message);
        this.opts.log?.warn({ model: spec.name, outcome, latencyMs, ...ctx }, 'model call failed');
        if (outcome === 'rejected') {
          throw ApplicationFailure.nonRetryable(`model ${spec.name} rejected the request: ${message}`, 'ModelRejected', { attempts });
        }
      }
    }
    if (attempts.every((a) => a.outcome === 'context_overflow')) {
      throw ApplicationFailure.nonRetryable(
        `the prompt (${promptTokens} tokens) does not fit the context window of any model in the chain`,
        'ContextTooLarge',
        { attempts },
      );
    }
    // Every model failed transiently: a plain error, so Temporal retries the activity with backoff.
    throw new AllModelsFailedError(attempts);
  }

  private client(spec: ModelSpec): OpenAI {
    let client = this.clients.get(spec.name);
    if (!client) {
      // Retries are the fallback chain's and Temporal's job; the client tries once.
      client = new OpenAI({ baseURL: spec.baseUrl, apiKey: spec.apiKey ?? 'not-needed', maxRetries: 0, timeout: spec.timeoutMs });
      this.clients.set(spec.name, client);
    }
    return client;
  }

  private async remoteCall(spec: ModelSpec, req: ChatRequest): Promise<ModelReply> {
    const res = await this.client(spec).chat.completions.create(
      {
        model: spec.providerModel,
        messages: req.messages.map(toOpenAiMessage),
        ...(req.tools?.length
          ? { tools: req.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })) }
          : {}),
        max_tokens: req.maxTokens,
        temperature: req.temperature,
        ...(req.responseFormat === 'json' ? { response_format: { type: 'json_object' as const } } : {}),
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
      // Providers that omit usage are charged by our own count rather than not at all.
      inputTokens: res.usage?.prompt_tokens ?? estimatePromptTokens(req),
      outputTokens: res.usage?.completion_tokens ?? countTokens(content + toolCalls.map((c) => c.name + c.arguments).join('')),
      meanLogprob: logprobs.length ? logprobs.reduce((n, t) => n + t.logprob, 0) / logprobs.length : undefined,
    };
  }

  /** A streamed answer: each piece goes to `onDelta` as it arrives; usage from the last chunk. */
  private async remoteStream(spec: ModelSpec, req: ChatRequest): Promise<ModelReply> {
    const stream = await this.client(spec).chat.completions.create(
      {
        model: spec.providerModel,
        messages: req.messages.map(toOpenAiMessage),
        max_tokens: req.maxTokens,
        temperature: req.temperature,
        stream: true,
        stream_options: { include_usage: true },
        ...(req.logprobs ? { logprobs: true } : {}),
      },
      { signal: req.signal },
    );
    let content = '';
    let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
    let logprobSum = 0;
    let logprobCount = 0;
    for await (const chunk of stream) {
      const choice = chunk.choices?.[0];
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
    return {
      content,
      toolCalls: [],
      inputTokens: usage?.prompt_tokens ?? estimatePromptTokens(req),
      outputTokens: usage?.completion_tokens ?? countTokens(content),
      meanLogprob: logprobCount ? logprobSum / logprobCount : undefined,
    };
  }

  private async localCall(req: ChatRequest): Promise<ModelReply> {
    const content = await runLocalModel(req.offline, this.embedQueries);
    const reply = { inputTokens: estimatePromptTokens(req), outputTokens: countTokens(content) };
    // The offline planner answers an agent step in the shape a tool-calling model would.
    if (req.offline?.kind === 'agent_step') {
      const step = JSON.parse(content) as { content?: string; toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }> };
      // Ids must be unique across the whole transcript: results are paired with calls by id.
      const toolCalls = (step.toolCalls ?? []).map((c) => ({ id: `local_${randomUUID().slice(0, 12)}`, name: c.name, arguments: JSON.stringify(c.arguments) }));
      return { ...reply, content: step.content ?? '', toolCalls };
    }
    // The local model writes its answer at once; a streaming caller gets it as one piece.
    req.onDelta?.(content);
    return { ...reply, content, toolCalls: [] };
  }

  private async record(spec: ModelSpec, ctx: CallContext, usage: Usage, latencyMs: number, outcome: AttemptOutcome, error?: string) {
    if (!this.opts.db) return;
    try {
      await this.opts.db.query(
        `INSERT INTO model_usage (tenant_id, task_id, step, model, provider, input_tokens, output_tokens, cost_usd, latency_ms, outcome, error, key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [ctx.tenantId ?? null, ctx.taskId ?? null, ctx.step ?? null, spec.name, spec.provider, usage.inputTokens, usage.outputTokens, usage.costUsd, latencyMs, outcome, error?.slice(0, 500) ?? null, ctx.keyId ?? null],
      );
    } catch (err) {
      // The answer matters more than its ledger line; the usage also travels in the task's steps.
      this.opts.log?.error({ err: String(err), model: spec.name }, 'could not record model usage');
    }
  }
}

interface ModelReply {
  content: string;
  toolCalls: ToolCall[];
  inputTokens: number;
  outputTokens: number;
  meanLogprob?: number;
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

export function estimatePromptTokens(req: ChatRequest): number {
  // ~4 tokens of per-message framing, as OpenAI's chat format adds.
  const messages = req.messages.reduce((n, m) => {
    const calls = m.role === 'assistant' ? (m.toolCalls ?? []).map((c) => c.name + c.arguments).join('') : '';
    return n + countTokens(m.content + calls) + 4;
  }, 2);
  const tools = req.tools?.length ? countTokens(JSON.stringify(req.tools)) : 0;
  return messages + tools;
}

export function price(spec: ModelSpec, inputTokens: number, outputTokens: number): Usage {
  const costUsd = (inputTokens * spec.inputPricePerMTok + outputTokens * spec.outputPricePerMTok) / 1_000_000;
  return { inputTokens, outputTokens, costUsd: Math.round(costUsd * 1e8) / 1e8 };
}

export class MalformedResponseError extends Error {
  override name = 'MalformedResponseError';
}

export class AllModelsFailedError extends Error {
  override name = 'AllModelsFailedError';
  constructor(readonly attempts: Attempt[]) {
    super(`every model in the chain failed: ${attempts.map((a) => `${a.model} ${a.outcome}`).join(', ')}`);
  }
}

export function classify(err: unknown): AttemptOutcome {
  if (err instanceof OpenAI.APIConnectionTimeoutError) return 'timeout';
  if (err instanceof OpenAI.APIConnectionError) return 'unavailable';
  if (err instanceof OpenAI.APIError) {
    if (err.status === 429) return 'rate_limited';
    if (err.status === undefined) return 'malformed';
    if (err.status >= 500 || err.status === 408) return 'server_error';
    return 'rejected';
  }
  if (err instanceof MalformedResponseError || err instanceof SyntaxError) return 'malformed';
  return 'unavailable';
}
