// The cache's activities: the semantic layer's lookup and store around an answer, and evicting
// the entries of answers that failed their output checks, so a cached answer that was not good
// enough to show is never served again.
import { countCacheOutcome } from '../../infra/metrics.js';
import type { ActivityDeps } from '../deps.js';
import { SemanticAnswers, type CachedAnswer, type SemanticAnswerLookup, type SemanticAnswerRequest } from './answers.js';
import { ExactCache } from './exact.js';

export function createCacheActivities(deps: Pick<ActivityDeps, 'db' | 'semanticCache' | 'gateway'>) {
  const answers = deps.semanticCache ? new SemanticAnswers(deps.db, deps.semanticCache, deps.gateway.prompts) : undefined;
  return {
    async evictCachedAnswers(input: { tenantId: string; keys: string[] }): Promise<{ evicted: number }> {
      let evicted = 0;
      for (const key of input.keys) evicted += await ExactCache.evict(deps.db, input.tenantId, { layer: 'model', key });
      return { evicted };
    },

    /** The semantic cache before retrieval: a near-enough earlier question's answer, or why not. */
    async lookupSemanticAnswer(input: SemanticAnswerRequest): Promise<SemanticAnswerLookup> {
      if (!answers) return { outcome: 'off' };
      const found = await answers.lookup(input);
      if (found.outcome !== 'off') countCacheOutcome('semantic', found.outcome, input.tenantId);
      return found;
    },

    /** An answer that passed its checks, kept for the questions near this one. */
    async storeSemanticAnswer(input: SemanticAnswerRequest & { answer: CachedAnswer }): Promise<{ stored: boolean; reason?: string }> {
      const { answer, ...req } = input;
      return answers ? answers.store(req, answer) : { stored: false, reason: 'off' };
    },
  };
}
