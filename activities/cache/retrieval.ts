// The exact cache's retrieval layer: a search's result kept under its query, collection, options
// and the collection's corpus version. Any change to the collection's documents moves the version
// on, so a result from before it is never served (and ages out by TTL and eviction). The query is
// the masked one retrieval itself sees, so an entry serves exactly what the search would return:
// shared within the tenant.
import type { Db } from '../../infra/db/pool.js';
import { countCacheOutcome } from '../../infra/metrics.js';
import type { RetrievalOptions, RetrievalResult } from '../retrieval/types.js';
import { requestKey, type ExactCache } from './exact.js';

/** A search as the retrieve activity is asked for it. */
type Search = RetrievalOptions & { tenantId: string; collection: string; query: string };

export async function cachedRetrieval(db: Db, cache: ExactCache, input: Search, search: () => Promise<RetrievalResult>): Promise<RetrievalResult> {
  const { rows } = await db.query<{ v: string }>('SELECT corpus_version::text AS v FROM collections WHERE tenant_id = $1 AND name = $2', [input.tenantId, input.collection]);
  if (!rows[0]) return search();
  const corpusVersion = Number(rows[0].v);
  const { tenantId, ...request } = input;
  const address = { tenantId, layer: 'retrieval' as const, scope: '', key: requestKey({ ...request, corpusVersion }) };
  const started = performance.now();
  const hit = await cache.get<RetrievalResult>(address).catch(() => undefined);
  if (hit) {
    // The time is the lookup's, not the original search's.
    const timings = { embedMs: 0, bm25Ms: 0, vectorMs: 0, totalMs: performance.now() - started };
    countCacheOutcome('retrieval', 'hit', tenantId);
    return { ...hit.value, timings, cache: { layer: 'exact', outcome: 'hit', corpusVersion, ageSeconds: hit.ageSeconds } };
  }
  const result = await search();
  // A result matters more than its cache entry: a failed store is not the search's failure.
  await cache.put(address, result).catch(() => undefined);
  countCacheOutcome('retrieval', 'stored', tenantId);
  return { ...result, cache: { layer: 'exact', outcome: 'stored', corpusVersion } };
}
