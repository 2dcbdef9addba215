// The semantic layer for chat completions, as the gateway uses it for a caller that names the
// question's route (the OpenAI-compatible proxy): the last user message is the question; the
// model, the system prompt, the earlier turns and the parameters are its context, so a cached
// reply is served only under the same system prompt and conversation (a semantic cache that ignores
// the system prompt serves one persona's answer to another). No tools, no sampling unless the
// route allows it, nothing time-sensitive, user-specific questions kept to their user, and no
// question carrying a masked placeholder.
import type { CacheOutcome, CallContext, ChatRequest, ChatResult } from '../gateway/types.js';
import { cacheability, carriesPlaceholder, SAMPLING_TEMPERATURE } from './cacheability.js';
import { requestKey } from './exact.js';
import { replayed, type StoredReply } from './responses.js';
import type { SemanticAddress, SemanticCache } from './semantic.js';


export type SemanticPlan = { at: SemanticAddress; question: string; mode: 'on' | 'shadow'; threshold: number } | { outcome: CacheOutcome };

export function planSemantic(cache: SemanticCache, req: ChatRequest, ctx: CallContext, model: string): SemanticPlan | undefined {
  const route = req.cacheRoute;
  if (!route || !ctx.tenantId) return undefined;
  const mode = cache.modeOn(route.policy);
  if (mode === 'off') return undefined;
  const refuse = (reason: string): SemanticPlan => ({ outcome: { layer: 'semantic', outcome: 'uncacheable', reason } });
  const last = req.messages.at(-1);
  if (last?.role !== 'user' || !last.content.trim()) return refuse('the last message is not a question');
  if (req.tools?.length) return refuse('tools offered');
  if ((req.temperature ?? 0) > SAMPLING_TEMPERATURE && !route.policy?.allowSampling) return refuse(`sampling (temperature ${req.temperature})`);
  if (carriesPlaceholder(last.content)) return refuse('carries masked PII');
  const verdict = cacheability(last.content);
  if (verdict.scope === 'none') return refuse(verdict.reason);
  if (verdict.scope === 'user' && !ctx.userId) return refuse(`${verdict.reason}, and no user is known`);
  const contextKey = requestKey({ model, earlier: req.messages.slice(0, -1), responseFormat: req.responseFormat, maxTokens: req.maxTokens, temperature: req.temperature, offline: req.offline });
  return {
    at: { tenantId: ctx.tenantId, route: route.name, scope: verdict.scope === 'user' ? ctx.userId! : '', contextKey },
    question: last.content,
    mode,
    threshold: cache.thresholdOn(route.policy),
  };
}

/** A hit as a ChatResult that cost nothing (replayed whole to a streaming caller); a miss or shadow as its outcome. */
export async function semanticLookup(cache: SemanticCache, plan: Extract<SemanticPlan, { at: unknown }>, req: ChatRequest, started: number): Promise<ChatResult | CacheOutcome> {
  const found = await cache.lookup<StoredReply>(plan.at, plan.question, { threshold: plan.threshold, mode: plan.mode });
  const scope = plan.at.scope ? ('user' as const) : ('tenant' as const);
  if (found.outcome !== 'hit') return { layer: 'semantic', outcome: found.outcome, scope, similarity: found.nearest?.similarity, cachedQuery: found.nearest?.cachedQuery };
  return replayed(found.value, req, started, {
    semanticCache: { layer: 'semantic', outcome: 'hit', scope, similarity: found.similarity, cachedQuery: found.cachedQuery, ageSeconds: found.ageSeconds, savedUsd: found.value.costUsd, key: found.entryId },
  });
}

/** A fresh reply kept for the questions near this one (an empty or tool-calling one is not). */
export async function semanticStore(cache: SemanticCache, plan: Extract<SemanticPlan, { at: unknown }>, result: ChatResult): Promise<void> {
  if (!result.content.trim() || result.toolCalls.length) return;
  const stored: StoredReply = { content: result.content, model: result.model, costUsd: result.usage.costUsd };
  await cache.store(plan.at, plan.question, stored);
}
