// The model gateway: one interface to every model in the registry, whatever its provider. It
// walks the fallback chain on rate limits, server errors, timeouts and malformed replies; within
// a model, it spreads calls over the model's deployments and survives them (resilience/: retries
// that honour Retry-After, a circuit breaker per deployment, the balancer, the broken-stream
// rule); skips
// models whose context window is too small or that cannot call the tools a request offers;
// dispatches each attempt to its provider's adapter (providers/); prices every call from the
// registry, cached input at its own rates; and records each attempt (tokens, cached tokens,
// cost, latency, outcome, the prompt cache's savings, the prompt-prefix hash, the version of the
// prompt the caller rendered) in model_usage (usage.ts), and each exact-cache hit with what it
// saved; sets that prompt version on the active span; and counts every attempt, its tokens, cost
// and failures into the process's metrics (metrics.ts).
import { trace } from '@opentelemetry/api';
import { ApplicationFailure } from '@temporalio/common';
import { promptLabel, type PromptUse } from '../../contracts/prompts.js';
import { GATEHOUSE } from '../../infra/spans.js';
import type { DeploymentStatus } from '../../contracts/gateway.js';
import { DEFAULT_RESILIENCE, type CacheSettings, type ModelProviderName, type ModelSpec, type ResilienceSettings } from '../../infra/config.js';
import type { Db } from '../../infra/db/pool.js';
import type { Logger } from '../../infra/logger.js';
import { countGatewayRefusal, countResponseCache, countSkipped, measureAttempt, type CallLabels } from './metrics.js';
import { inChatSpan, type ChatSpan } from './spans.js';
import type { Embedder } from '../retrieval/embeddings.js';
import { GatewayLimits } from './limits/index.js';
import { BUILTIN_PROMPT_SOURCE, PromptStore, type PromptSource } from '../prompts/store.js';
import { ExactCache } from '../cache/exact.js';
import { ResponseCaches, type CacheVisit } from '../cache/response-caches.js';
import type { SemanticCache } from '../cache/semantic.js';
import { CacheabilityClassifier } from '../cache/cacheability.js';
import { largerModel, promptRoom, truncateToFit, type ContextFit } from './context-fit.js';
import { createProviders, estimatePromptTokens, MalformedResponseError, StreamCutOffError, type ModelProvider, type TokenCounts } from './providers/index.js';
import { balanceOrder } from './resilience/balancer.js';
import type { BreakerTrip } from './resilience/breaker.js';
import { Deployment } from './resilience/deployment.js';
import { retryDelayMs, waitOrAbort } from './resilience/retry.js';
import { ReleaseTracker, streamBrokenAfterRelease } from './resilience/stream-integrity.js';
import type { Attempt, AttemptOutcome, CallContext, ChatRequest, ChatResult, Usage } from './types.js';
import { promptCacheSavings, promptPrefixHash, recordSavedCost, recordUsage, type UsageRecord } from './usage.js';

export { estimatePromptTokens, MalformedResponseError };

export interface GatewayOptions {
  registry: ModelSpec[];
  chain: string[];
  db?: Db;
  log?: Logger;
  /** Lets the offline local model rank sentences by meaning, not only by shared words. */
  embedder?: Embedder;
  /** Retries and breakers (config.models.resilience); the configuration's defaults when absent. */
  resilience?: ResilienceSettings;
  /** The cache's settings (config.cache): its model layer kept in `db`; off when absent or not named. */
  cache?: CacheSettings;
  /** The semantic layer, for requests that name their route (the proxy); off when absent. */
  semanticCache?: SemanticCache;
}

/** What a model answered, before the chain adds who answered and how long the whole call took. */
type Answered = Pick<ChatResult, 'content' | 'toolCalls' | 'usage' | 'meanLogprob'>;

export class ModelGateway {
  /** The versioned prompts every caller renders its system message from (activities/prompts/). */
  readonly prompts: PromptSource;
  private readonly providers: Record<ModelProviderName, ModelProvider>;
  private readonly limits: GatewayLimits | undefined;
  private readonly caches: ResponseCaches | undefined;
  private readonly resilience: ResilienceSettings;
  /** Each model's deployments, with their breakers, in this process's memory. */
  private readonly deployments = new Map<string, Deployment[]>();

  constructor(private readonly opts: GatewayOptions) {
    this.resilience = opts.resilience ?? DEFAULT_RESILIENCE;
    for (const spec of opts.registry) {
      this.deployments.set(spec.name, spec.deployments.map((d) => new Deployment(spec, d, this.resilience.breaker, (dep, trip) => this.onTrip(dep, trip))));
    }
    const embedder = opts.embedder;
    // One function for the gateway's life: the local classifier caches its exemplar vectors per function.
    this.limits = opts.db ? new GatewayLimits(opts.db) : undefined;
    this.prompts = opts.db ? new PromptStore(opts.db) : BUILTIN_PROMPT_SOURCE;
    const exact = opts.db && opts.cache?.layers.model ? new ExactCache(opts.db, opts.cache) : undefined;
    const classifier = exact && opts.cache?.classifierModel ? new CacheabilityClassifier((r, c) => this.chat(r, c), opts.cache.classifierModel, opts.log, this.prompts) : undefined;
    this.caches = exact || opts.semanticCache ? new ResponseCaches({ exact, semantic: opts.semanticCache, classifier, log: opts.log }) : undefined;
    this.providers = createProviders({ embedQueries: embedder ? (texts) => embedder.embed(texts, 'query') : undefined });
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
    // The step's span too (the activity's), not only each attempt's chat span.
    if (req.prompt) trace.getActiveSpan()?.setAttribute(GATEHOUSE.promptVersion, promptLabel(req.prompt));
    // Counted once: the estimate, the context-fit rules and the chain all read it.
    const prompt: PromptFacts = { tokens: estimatePromptTokens(req), prefix: promptPrefixHash(req) };
    const promptTokens = prompt.tokens;
    const { chain, moved } = this.fitChain(req, this.chainFor(req.model), promptTokens);
    if (!this.limits) return withFit(await this.callChain(req, ctx, chain, prompt), moved);
    const maxTokens = req.maxTokens ?? 512;
    const admission = await this.limits
      .admit(ctx, chain, req.model, (spec) => ({
        usd: price(spec, { inputTokens: promptTokens, outputTokens: maxTokens, cachedReadTokens: 0, cacheWriteTokens: 0 }).costUsd,
        tokens: promptTokens + maxTokens,
      }))
      .catch((err: unknown) => {
        countGatewayRefusal(err, ctx);
        throw err;
      });
    // The caches are asked once the caller is known (its user scopes user-specific entries); a hit
    // settles the reservation to nothing.
    let result: ChatResult;
    let visit: CacheVisit | undefined;
    try {
      visit = this.caches && !req.skipCache ? await this.caches.visit(req, admission.context, admission.chain[0]!.name) : undefined;
      result = visit && 'hit' in visit ? visit.hit : await this.callChain(req, admission.context, admission.chain, prompt);
    } catch (err) {
      await admission.settle(undefined).catch((e: unknown) => this.opts.log?.error({ err: String(e), ...ctx }, 'could not release a reservation'));
      throw err;
    }
    // The answer is paid for: an unsettled reservation keeps holding its estimate until it goes stale.
    await admission.settle(result.usage).catch((e: unknown) => this.opts.log?.error({ err: String(e), ...ctx }, 'could not settle a reservation'));
    if (visit && 'hit' in visit) await this.recordHit(result, admission.context, prompt.prefix, req.prompt);
    else if (visit) result = await visit.finish(result);
    countResponseCache(result.cache, admission.context);
    countResponseCache(result.semanticCache, admission.context);
    return withFit(result, moved);
  }

  /** The larger_model rule: when the first model cannot hold the prompt, the smallest one that can goes first. */
  private fitChain(req: ChatRequest, chain: ModelSpec[], promptTokens: number): { chain: ModelSpec[]; moved?: Moved } {
    const first = chain[0];
    if (req.overflow !== 'larger_model' || !first || promptTokens <= promptRoom(first, req)) return { chain };
    const larger = largerModel(this.opts.registry, req, promptTokens);
    if (!larger) return { chain };
    return { chain: [larger, ...chain.filter((s) => s !== larger)], moved: { rule: 'larger_model', from: first.name, to: larger.name } };
  }

  private async callChain(req: ChatRequest, ctx: CallContext, chain: ModelSpec[], prompt: PromptFacts): Promise<ChatResult> {
    const promptTokens = prompt.tokens;
    const started = performance.now();
    const attempts: Attempt[] = [];
    for (const spec of chain) {
      let request = req;
      let cut: ContextFit | undefined;
      if (promptTokens > promptRoom(spec, req)) {
        const fitted = req.overflow === 'truncate' ? truncateToFit(req, promptRoom(spec, req)) : undefined;
        if (!fitted) {
          attempts.push(countSkipped({ model: spec.name, outcome: 'context_overflow', latencyMs: 0, error: `${promptTokens} prompt tokens` }, labelsOf(spec, req, ctx)));
          continue;
        }
        request = fitted.req;
        cut = { rule: 'truncate', model: spec.name, cutTokens: fitted.cutTokens };
      }
      if (req.tools?.length && !spec.capabilities.tools) {
        attempts.push(countSkipped({ model: spec.name, outcome: 'unsupported', latencyMs: 0, error: 'the model does not call tools' }, labelsOf(spec, req, ctx)));
        continue;
      }
      const answered = await this.callModel(spec, request, ctx, attempts, prompt.prefix);
      if (answered) return { ...answered, model: spec.name, latencyMs: Math.round(performance.now() - started), attempts, ...(cut ? { contextFit: cut } : {}) };
    }
    if (attempts.every((a) => a.outcome === 'unsupported')) {
      throw ApplicationFailure.nonRetryable('no model in the chain calls tools', 'ToolsUnsupported', { attempts });
    }
    if (attempts.every((a) => a.outcome === 'context_overflow' || a.outcome === 'unsupported')) {
      throw ApplicationFailure.nonRetryable(
        `the prompt (${promptTokens} tokens) does not fit the context window of any model in the chain`,
        'ContextTooLarge',
        { attempts },
      );
    }
    // Every model failed transiently: a plain error, so Temporal retries the activity with backoff.
    throw new AllModelsFailedError(attempts);
  }

  /** Every deployment's health as this process sees it (GET /v1/gateway/deployments). */
  deploymentStatus(): DeploymentStatus[] {
    return [...this.deployments.values()].flat().map((d) => d.status());
  }

  /**
   * One model of the chain: its deployments in the balancer's order, each retried while the
   * provider says the failure will pass. Undefined when every deployment failed transiently,
   * so the chain moves on.
   */
  private async callModel(spec: ModelSpec, req: ChatRequest, ctx: CallContext, attempts: Attempt[], promptPrefix: string): Promise<Answered | undefined> {
    for (const deployment of balanceOrder(spec.balance, this.deployments.get(spec.name)!)) {
      for (let retries = 0; ; retries++) {
        if (!deployment.breaker.tryAcquire()) {
          attempts.push(countSkipped({ model: spec.name, deployment: deployment.id, outcome: 'circuit_open', latencyMs: 0 }, labelsOf(spec, req, ctx)));
          break;
        }
        const tried = await this.attempt(deployment, req, ctx, attempts, promptPrefix);
        if ('answered' in tried) return tried.answered;
        const delayMs = retryDelayMs(tried.outcome, tried.err, retries, this.resilience);
        if (delayMs === undefined) break;
        await waitOrAbort(delayMs, req.signal);
      }
    }
    return undefined;
  }

  /** One call to one deployment: recorded, counted by its breaker, judged by the broken-stream rule, and traced (`chat {model}`, spans.ts). */
  private attempt(
    deployment: Deployment,
    req: ChatRequest,
    ctx: CallContext,
    attempts: Attempt[],
    promptPrefix: string,
  ): Promise<{ answered: Answered } | { outcome: AttemptOutcome; err: unknown }> {
    return inChatSpan(deployment.spec, deployment.id, req, ctx, (span) => this.attemptIn(span, deployment, req, ctx, attempts, promptPrefix));
  }

  private async attemptIn(
    span: ChatSpan,
    deployment: Deployment,
    req: ChatRequest,
    ctx: CallContext,
    attempts: Attempt[],
    promptPrefix: string,
  ): Promise<{ answered: Answered } | { outcome: AttemptOutcome; err: unknown }> {
    const { spec } = deployment;
    const releases = new ReleaseTracker(req.onDelta);
    const t0 = performance.now();
    const measured = measureAttempt(labelsOf(spec, req, ctx), t0);
    deployment.started();
    try {
      const reply = await this.providers[spec.provider].call(spec, { ...req, onDelta: span.watch(measured.watch(releases.forward)) });
      const { content, toolCalls, tokens, meanLogprob, streamed } = reply;
      // A model that did not stream still answers a streaming caller, in one piece.
      if (req.onDelta && !req.tools?.length && !streamed) req.onDelta(content);
      const usage = price(spec, tokens);
      const latencyMs = Math.round(performance.now() - t0);
      deployment.finished(latencyMs, 'ok');
      attempts.push({ model: spec.name, deployment: deployment.id, outcome: 'ok', latencyMs });
      measured.answered(usage, content.trim() === '' && !toolCalls.length);
      span.answered(reply, usage);
      await this.record(spec, ctx, { usage, latencyMs, outcome: 'ok', promptPrefix, savedUsd: promptCacheSavings(spec, usage), prompt: req.prompt });
      return { answered: { content, toolCalls, usage, meanLogprob } };
    } catch (err) {
      const latencyMs = Math.round(performance.now() - t0);
      // Cancelled by the caller: not the model's fault, and no reason to try another.
      if (req.signal?.aborted) {
        deployment.finished(latencyMs, 'cancelled');
        measured.failed('cancelled');
        throw err;
      }
      const outcome = this.providers[spec.provider].classify(err) ?? classify(err);
      span.failed(outcome);
      // A stream that broke is its own kind whatever error ended it (stream-integrity.ts).
      measured.failed(releases.released || err instanceof StreamCutOffError ? 'broken_stream' : outcome);
      // A rejected request was answered: the deployment is up, the request is at fault.
      deployment.finished(latencyMs, outcome === 'rejected' ? 'ok' : 'failed');
      const message = err instanceof Error ? err.message : String(err);
      attempts.push({ model: spec.name, deployment: deployment.id, outcome, latencyMs, error: message.slice(0, 200) });
      await this.record(spec, ctx, { usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, latencyMs, outcome, error: message, promptPrefix, prompt: req.prompt });
      this.opts.log?.warn({ model: spec.name, deployment: deployment.id, outcome, latencyMs, ...ctx }, 'model call failed');
      if (outcome === 'rejected') {
        throw ApplicationFailure.nonRetryable(`model ${spec.name} rejected the request: ${message}`, 'ModelRejected', { attempts });
      }
      if (releases.released) throw streamBrokenAfterRelease(deployment.id, releases.chars, message, attempts);
      return { outcome, err };
    }
  }

  private onTrip(deployment: Deployment, trip: BreakerTrip): void {
    this.opts.log?.warn(
      { model: deployment.spec.name, deployment: deployment.id, from: trip.from, failureRate: trip.failureRate, calls: trip.calls, trips: deployment.trips },
      'circuit breaker opened',
    );
  }

  private async record(spec: ModelSpec, ctx: CallContext, row: Pick<UsageRecord, 'usage' | 'latencyMs' | 'outcome' | 'error' | 'savedUsd' | 'promptPrefix' | 'prompt'>) {
    if (!this.opts.db) return;
    try {
      await recordUsage(this.opts.db, { tenantId: ctx.tenantId, taskId: ctx.taskId, step: ctx.step, keyId: ctx.keyId, model: spec.name, provider: spec.provider, ...row });
    } catch (err) {
      // The answer matters more than its ledger line; the usage also travels in the task's steps.
      this.opts.log?.error({ err: String(err), model: spec.name }, 'could not record model usage');
    }
  }

  /** An exact-cache hit: a row of no tokens and no cost that says what the model call it replaced cost. */
  private async recordHit(result: ChatResult, ctx: CallContext, promptPrefix: string, promptUse: PromptUse | undefined) {
    if (!this.opts.db || !ctx.tenantId) return;
    const hit = { tenantId: ctx.tenantId, taskId: ctx.taskId, step: ctx.step, keyId: ctx.keyId, model: result.model, latencyMs: result.latencyMs };
    await recordSavedCost(this.opts.db, { ...hit, savedUsd: (result.cache ?? result.semanticCache)?.savedUsd ?? 0, outcome: 'cache_hit', promptPrefix, prompt: promptUse }).catch((err: unknown) =>
      this.opts.log?.error({ err: String(err), model: result.model }, 'could not record a cache hit'),
    );
  }
}

/** The labels every metric of a call carries (gateway/metrics.ts): bounded, no user or task ids. */
function labelsOf(spec: ModelSpec, req: ChatRequest, ctx: CallContext): CallLabels {
  return { model: spec.name, provider: spec.provider, tenant: ctx.tenantId, step: ctx.step, route: req.cacheRoute?.name ?? ctx.route, promptVersion: req.prompt && promptLabel(req.prompt) };
}

/** What the gateway measures of a prompt once per call: its tokens (our count) and its stable prefix's hash. */
interface PromptFacts {
  tokens: number;
  prefix: string;
}

/** The larger_model move, reported with the result it led to (a truncation reports itself). */
type Moved = Extract<ContextFit, { rule: 'larger_model' }>;

function withFit(result: ChatResult, moved: Moved | undefined): ChatResult {
  return moved && result.model === moved.to && !result.contextFit ? { ...result, contextFit: moved } : result;
}

/**
 * A call's usage priced from the registry: the uncached input at the input rate, cache reads at
 * the cached rate, cache writes at the write rate, output at the output rate.
 */
export function price(spec: ModelSpec, tokens: TokenCounts): Usage {
  const uncachedInput = Math.max(0, tokens.inputTokens - tokens.cachedReadTokens - tokens.cacheWriteTokens);
  const costUsd =
    (uncachedInput * spec.inputPricePerMTok +
      tokens.cachedReadTokens * spec.cachedInputPricePerMTok +
      tokens.cacheWriteTokens * spec.cacheWritePricePerMTok +
      tokens.outputTokens * spec.outputPricePerMTok) /
    1_000_000;
  return {
    inputTokens: tokens.inputTokens,
    outputTokens: tokens.outputTokens,
    costUsd: Math.round(costUsd * 1e8) / 1e8,
    // Absent when zero, so a call without a prompt cache reports what it always did.
    ...(tokens.cachedReadTokens ? { cachedReadTokens: tokens.cachedReadTokens } : {}),
    ...(tokens.cacheWriteTokens ? { cacheWriteTokens: tokens.cacheWriteTokens } : {}),
  };
}

export class AllModelsFailedError extends Error {
  override name = 'AllModelsFailedError';
  constructor(readonly attempts: Attempt[]) {
    super(`every model in the chain failed: ${attempts.map((a) => `${a.model} ${a.outcome}`).join(', ')}`);
  }
}

/** What is left once the provider's own errors are classified: our checks and the rest. */
export function classify(err: unknown): AttemptOutcome {
  if (err instanceof MalformedResponseError || err instanceof SyntaxError) return 'malformed';
  return 'unavailable';
}
