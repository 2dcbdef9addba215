// The gateway's caches in the order it asks them, once a call is admitted: the exact layer (the
// same request) first, then the semantic layer (a near question, for a caller that named its
// route). A hit is the reply; otherwise `finish` stores the fresh reply where it may be kept and
// says what each layer did. A cache that fails is a miss: a reply matters more than its entry.
import type { Logger } from '../../infra/logger.js';
import type { CacheOutcome, CallContext, ChatRequest, ChatResult } from '../gateway/types.js';
import { planSemantic, semanticLookup, semanticStore } from './completions.js';
import type { CacheabilityClassifier } from './cacheability.js';
import type { ExactCache } from './exact.js';
import { cachedResult, planCache, storeResult } from './responses.js';
import type { SemanticCache } from './semantic.js';

export type CacheVisit = { hit: ChatResult } | { finish(result: ChatResult): Promise<ChatResult> };

export class ResponseCaches {
  private readonly exact: ExactCache | undefined;
  private readonly semantic: SemanticCache | undefined;
  private readonly classifier: CacheabilityClassifier | undefined;
  private readonly log: Logger | undefined;

  constructor(o: { exact?: ExactCache; semantic?: SemanticCache; classifier?: CacheabilityClassifier; log?: Logger }) {
    this.exact = o.exact;
    this.semantic = o.semantic;
    this.classifier = o.classifier;
    this.log = o.log;
  }

  async visit(req: ChatRequest, ctx: CallContext, model: string): Promise<CacheVisit> {
    const started = performance.now();
    const exactPlan = this.exact ? await planCache(req, ctx, model, this.classifier) : undefined;
    if (this.exact && exactPlan && 'address' in exactPlan) {
      const hit = await cachedResult(this.exact, exactPlan.address, req, started).catch(() => undefined);
      if (hit) return { hit };
    }
    const semanticPlan = this.semantic ? planSemantic(this.semantic, req, ctx, model) : undefined;
    let semanticOutcome = semanticPlan && 'outcome' in semanticPlan ? semanticPlan.outcome : undefined;
    if (this.semantic && semanticPlan && 'at' in semanticPlan) {
      const found = await semanticLookup(this.semantic, semanticPlan, req, started).catch((e: unknown): CacheOutcome => this.failed(e, ctx, 'semantic', 'lookup'));
      if ('content' in found) return { hit: found };
      semanticOutcome = found;
    }
    return {
      finish: async (result) => {
        let cache: CacheOutcome | undefined;
        if (this.exact && exactPlan) {
          cache = 'address' in exactPlan ? await storeResult(this.exact, exactPlan.address, result).catch((e: unknown) => this.failed(e, ctx, 'exact', 'store')) : exactPlan.outcome;
        }
        const semantic = this.semantic;
        if (semantic && semanticPlan && 'at' in semanticPlan && semanticOutcome?.outcome !== 'uncacheable') {
          await semanticStore(semantic, semanticPlan, result).catch((e: unknown) => this.failed(e, ctx, 'semantic', 'store'));
        }
        return { ...result, ...(cache ? { cache } : {}), ...(semanticOutcome ? { semanticCache: semanticOutcome } : {}) };
      },
    };
  }

  private failed(err: unknown, ctx: CallContext, layer: CacheOutcome['layer'], what: string): CacheOutcome {
    this.log?.warn({ err: String(err), tenantId: ctx.tenantId, taskId: ctx.taskId, layer }, `cache ${what} failed`);
    return { layer, outcome: 'uncacheable', reason: `the ${what} failed` };
  }
}
