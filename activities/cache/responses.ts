// The exact cache's model layer, as the gateway uses it: where a request's response is stored (or
// why it is not), a hit as a ChatResult that cost nothing, and what a fresh answer leaves behind.
// Not cached: requests that offer tools (a tool call is an action's first step, not an answer),
// sampling (temperature above 0.2: best-of-n's candidates must differ), time-sensitive questions,
// and user-specific ones when no user is known (cacheability.ts: rules, and the optional model).
import type { CacheOutcome, CallContext, ChatRequest, ChatResult } from '../gateway/types.js';
import { cacheability, carriesPlaceholder, SAMPLING_TEMPERATURE, type CacheabilityClassifier } from './cacheability.js';
import { requestKey, type CacheAddress, type ExactCache } from './exact.js';


/** What a cached reply keeps: the text, who wrote it, what it cost (what a hit saves). */
export interface StoredReply {
  content: string;
  model: string;
  costUsd: number;
}

export type CachePlan = { address: CacheAddress } | { outcome: CacheOutcome };

/** Where a request's response goes, or why nowhere; undefined when the cache has no say (no tenant, or a call that skips it). */
export async function planCache(req: ChatRequest, ctx: CallContext, model: string, classifier?: CacheabilityClassifier): Promise<CachePlan | undefined> {
  if (!ctx.tenantId || req.skipCache) return undefined;
  const refuse = (reason: string): CachePlan => ({ outcome: { layer: 'exact', outcome: 'uncacheable', reason } });
  if (req.tools?.length) return refuse('tools offered');
  if ((req.temperature ?? 0) > SAMPLING_TEMPERATURE && !req.cacheRoute?.policy?.allowSampling) return refuse(`sampling (temperature ${req.temperature})`);
  // The question is what is judged: an answer's last user message also carries its passages, and
  // a passage that says "current" does not make the question time-sensitive.
  const offline = req.offline;
  const question = offline && 'question' in offline ? offline.question : ([...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '');
  const verdict = classifier ? await classifier.check(question, ctx, req.signal) : cacheability(question);
  if (verdict.scope === 'none') return refuse(verdict.reason);
  if (verdict.scope === 'user' && !ctx.userId) return refuse(`${verdict.reason}, and no user is known`);
  // A placeholder names a value in one task's vault: [EMAIL_ADDRESS_1] is another address in the
  // next task, so such a request is kept to its own task (a retry, another sample) or not at all.
  // (The system prompt may name placeholders as an instruction: what the call is about cannot.)
  const masked = req.messages.some((m) => m.role !== 'system' && carriesPlaceholder(m.content));
  if (masked && !ctx.taskId) return refuse('carries masked PII, and no task holds its vault');
  const scope = verdict.scope === 'user' ? ctx.userId! : '';
  const key = requestKey({
    tenant: ctx.tenantId,
    scope,
    vault: masked ? ctx.taskId : undefined,
    model,
    responseFormat: req.responseFormat,
    maxTokens: req.maxTokens,
    temperature: req.temperature,
    messages: req.messages,
    offline: req.offline,
  });
  return { address: { tenantId: ctx.tenantId, layer: 'model', scope, key } };
}

/** A hit: the stored answer, replayed to a streaming caller in one piece, at no cost. */
export async function cachedResult(cache: ExactCache, address: CacheAddress, req: ChatRequest, started: number): Promise<ChatResult | undefined> {
  const hit = await cache.get<StoredReply>(address);
  if (!hit) return undefined;
  return replayed(hit.value, req, started, { cache: { layer: 'exact', outcome: 'hit', scope: address.scope ? 'user' : 'tenant', ageSeconds: hit.ageSeconds, savedUsd: hit.value.costUsd, key: address.key } });
}

/** A stored reply as the call's result: no tokens, no cost, what the cache did beside it. */
export function replayed(stored: StoredReply, req: ChatRequest, started: number, outcome: Pick<ChatResult, 'cache' | 'semanticCache'>): ChatResult {
  req.onDelta?.(stored.content);
  return {
    content: stored.content,
    toolCalls: [],
    model: stored.model,
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    latencyMs: Math.round(performance.now() - started),
    attempts: [],
    ...outcome,
  };
}

/** A fresh answer stored for the next identical request (an empty or tool-calling one is not). */
export async function storeResult(cache: ExactCache, address: CacheAddress, result: ChatResult): Promise<CacheOutcome> {
  if (!result.content.trim() || result.toolCalls.length) return { layer: 'exact', outcome: 'uncacheable', reason: 'empty or tool-calling reply' };
  const stored: StoredReply = { content: result.content, model: result.model, costUsd: result.usage.costUsd };
  await cache.put(address, stored);
  return { layer: 'exact', outcome: 'stored', scope: address.scope ? 'user' : 'tenant', key: address.key };
}
