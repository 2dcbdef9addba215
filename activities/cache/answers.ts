// The semantic cache's answer layer, as answerQuestion uses it: before retrieval, a question near
// enough to one answered before (same tenant, route, scope and context) is answered from the
// cache; after an answer passed its output checks, it is stored for the next one. Whose an entry
// is follows cacheability.ts (time-sensitive: nobody's; "my order": the asking user's; else the
// tenant's). A question or answer carrying a masked placeholder is never kept: [EMAIL_ADDRESS_1]
// names a different value in every task's vault.
import type { Citation } from '../../contracts/answer.js';
import type { RouteCache } from '../../contracts/routing.js';
import type { Db } from '../../infra/db/pool.js';
import { recordSavedCost } from '../gateway/usage.js';
import { cacheability, carriesPlaceholder } from './cacheability.js';
import { requestKey } from './exact.js';
import { BUILTIN_PROMPT_VERSION } from '../../contracts/prompts.js';
import { BUILTIN_PROMPT_SOURCE, type PromptSource } from '../prompts/store.js';
import type { SemanticAddress, SemanticCache, SemanticNearest } from './semantic.js';

export interface SemanticAnswerRequest {
  tenantId: string;
  taskId: string;
  /** The route's intent; 'default' when the router chose none. */
  route: string;
  routeCache?: RouteCache;
  collection: string;
  /** The question as the workflow holds it: masked, and standing alone. */
  question: string;
  /** Everything else the answer depends on: the guardrail policy's version, the model, retrieval options. */
  context: { policyVersion: number; model?: string; options: unknown };
}

export interface CachedAnswer {
  answer: string;
  citations: Citation[];
  model: string;
  /** What the answer cost to write: what a hit saves. */
  costUsd: number;
}

/** What the lookup did, as the `semantic_cache` step shows it. */
export type SemanticAnswerLookup =
  | { outcome: 'off' }
  | { outcome: 'uncacheable'; reason: string; latencyMs: number }
  | { outcome: 'hit'; scope: 'tenant' | 'user'; similarity: number; threshold: number; cachedQuery: string; ageSeconds: number; entryId: string; answer: CachedAnswer; latencyMs: number }
  | { outcome: 'miss' | 'shadow'; scope: 'tenant' | 'user'; threshold: number; wouldHit?: boolean; nearest?: SemanticNearest; latencyMs: number };

export class SemanticAnswers {
  constructor(
    private readonly db: Db,
    private readonly cache: SemanticCache,
    /** The answer prompt's versions: an answer written with another version is another entry. */
    private readonly prompts: PromptSource = BUILTIN_PROMPT_SOURCE,
  ) {}

  async lookup(req: SemanticAnswerRequest): Promise<SemanticAnswerLookup> {
    const mode = this.cache.modeOn(req.routeCache);
    if (mode === 'off') return { outcome: 'off' };
    const started = performance.now();
    const latencyMs = () => Math.round((performance.now() - started) * 10) / 10;
    const at = await this.address(req);
    if ('reason' in at) return { outcome: 'uncacheable', reason: at.reason, latencyMs: latencyMs() };
    const threshold = this.cache.thresholdOn(req.routeCache);
    const scope = at.scope ? 'user' : 'tenant';
    const found = await this.cache.lookup<CachedAnswer>(at, req.question, { threshold, mode });
    if (found.outcome === 'hit') {
      const { value, ...hit } = found;
      await this.recordSaving(req, value);
      return { ...hit, scope, threshold, answer: value, latencyMs: latencyMs() };
    }
    return { ...found, scope, threshold, latencyMs: latencyMs() };
  }

  /** Keep an answer that passed its checks; refused (with the reason) when it may not be kept. */
  async store(req: SemanticAnswerRequest, answer: CachedAnswer): Promise<{ stored: boolean; reason?: string }> {
    if (this.cache.modeOn(req.routeCache) === 'off') return { stored: false, reason: 'off' };
    if (carriesPlaceholder(answer.answer)) return { stored: false, reason: 'the answer carries masked PII' };
    const at = await this.address(req);
    if ('reason' in at) return { stored: false, reason: at.reason };
    await this.cache.store(at, req.question, answer);
    return { stored: true };
  }

  /** Where the question's entries live, or why it has none. */
  private async address(req: SemanticAnswerRequest): Promise<SemanticAddress | { reason: string }> {
    if (carriesPlaceholder(req.question)) return { reason: 'carries masked PII' };
    const verdict = cacheability(req.question);
    if (verdict.scope === 'none') return { reason: verdict.reason };
    let scope = '';
    if (verdict.scope === 'user') {
      const { rows } = await this.db.query<{ user_id: string | null }>('SELECT user_id FROM tasks WHERE id = $1 AND tenant_id = $2', [req.taskId, req.tenantId]);
      if (!rows[0]?.user_id) return { reason: `${verdict.reason}, and no user is known` };
      scope = rows[0].user_id;
    }
    const { rows } = await this.db.query<{ v: string }>('SELECT corpus_version::text AS v FROM collections WHERE tenant_id = $1 AND name = $2', [req.tenantId, req.collection]);
    const corpusVersion = rows[0] ? Number(rows[0].v) : 0;
    // The version this task would write with (its pin, its share of a candidate, the active one);
    // the built-in version adds nothing, so entries stored before prompts had versions still match.
    const prompt = await this.prompts.resolve('answer.system', req);
    const answerPrompt = prompt.version === BUILTIN_PROMPT_VERSION ? {} : { answerPrompt: prompt.version };
    return {
      tenantId: req.tenantId,
      route: req.route,
      scope,
      contextKey: requestKey({ collection: req.collection, corpusVersion, ...req.context, ...answerPrompt }),
      collection: req.collection,
      corpusVersion,
    };
  }

  /** A hit is a call not made: the ledger records what it would have cost. */
  private async recordSaving(req: SemanticAnswerRequest, answer: CachedAnswer): Promise<void> {
    // The answer matters more than its ledger line.
    await recordSavedCost(this.db, { tenantId: req.tenantId, taskId: req.taskId, step: 'semantic_cache', model: answer.model, savedUsd: answer.costUsd, outcome: 'cache_hit' }).catch(() => undefined);
  }
}
