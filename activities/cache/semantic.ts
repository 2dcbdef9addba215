// The semantic cache, on pgvector: an answer kept under its question's embedding and served to a
// new question whose embedding is near enough — within the same tenant, route, scope and context
// (the collection's corpus version, the policy version, the model, the options), never beyond.
// Nearness alone is not enough: a question and its reversal ("used" / "unused cartridge") sit
// within 0.9 cosine of each other, so every candidate above the threshold must also pass the
// false-hit guard (compareQueries: entities, numbers, dates, negations) before it is served.
// Shadow mode does all of it and serves nothing: it records what would have been served and how
// near, so an operator can pick a threshold from real traffic before turning the layer on.
import type { RouteCache } from '../../contracts/routing.js';
import type { CacheSettings } from '../../infra/config.js';
import { toVectorParam, type Db, type DbCapabilities } from '../../infra/db/pool.js';
import type { Embedder } from '../retrieval/embedder.js';
import { TenantBudgets } from './budget.js';
import { compareQueries, type QueryDifference } from './false-hit-guard.js';

export interface SemanticAddress {
  tenantId: string;
  /** The route's intent ('default' without a router): each route has its own threshold. */
  route: string;
  /** '' for an entry shared within the tenant; the user's id for one kept to them. */
  scope: string;
  /** A hash of everything else the answer depends on. */
  contextKey: string;
  /** The collection the answer was drawn from and its corpus version: a newer version invalidates. */
  collection?: string;
  corpusVersion?: number;
}

export interface SemanticCandidate {
  id: string;
  query: string;
  similarity: number;
}

/** Why the nearest entry was not served: too far, or close but different (the guard). */
export interface SemanticNearest {
  similarity: number;
  cachedQuery: string;
  blockedBy?: QueryDifference[];
}

export type SemanticLookup<T> =
  | { outcome: 'hit'; similarity: number; cachedQuery: string; ageSeconds: number; value: T; entryId: string }
  | { outcome: 'shadow'; wouldHit: boolean; nearest?: SemanticNearest }
  | { outcome: 'miss'; nearest?: SemanticNearest };

/** How many of the nearest entries are weighed: the nearest may be a near miss the guard stops. */
const CANDIDATES = 4;
/** Query embeddings kept per process: the lookup and the store after the answer embed the same text. */
const EMBEDDING_MEMO = 512;

export class SemanticCache {
  private readonly memo = new Map<string, Float32Array>();
  private readonly budgets: TenantBudgets;

  constructor(
    private readonly db: Db,
    private readonly caps: DbCapabilities,
    private readonly embedder: Embedder,
    readonly settings: CacheSettings,
  ) {
    this.budgets = new TenantBudgets(db, 'semantic_cache_entries', settings);
  }

  /** The layer's mode on a route: the route's own, else the deployment's. */
  modeOn(route?: RouteCache): 'off' | 'on' | 'shadow' {
    return route?.semantic ?? this.settings.layers.semantic;
  }

  /** The similarity a cached question must reach on a route: the route's own, else the deployment's. */
  thresholdOn(route?: RouteCache): number {
    return route?.threshold ?? this.settings.semanticThreshold;
  }

  async embed(query: string): Promise<Float32Array> {
    const known = this.memo.get(query);
    if (known) return known;
    const [vector] = await this.embedder.embed([query], 'query');
    if (this.memo.size >= EMBEDDING_MEMO) this.memo.delete(this.memo.keys().next().value!);
    this.memo.set(query, vector!);
    return vector!;
  }

  /**
   * The question's nearest cached questions at this address, nearest first. HNSW with the
   * address as a filter: iterative scans (pgvector ≥ 0.8) keep looking past other tenants' and
   * routes' entries instead of returning too few.
   */
  async nearest(at: SemanticAddress, vector: Float32Array, limit = CANDIDATES): Promise<Array<SemanticCandidate & { value: unknown; ageSeconds: number }>> {
    const client = await this.db.connect();
    try {
      await client.query('BEGIN');
      if (this.caps.iterativeScan) await client.query(`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
      const { rows } = await client.query<{ id: string; query: string; distance: number; value: unknown; age: number }>(
        `WITH nearest AS MATERIALIZED (
           SELECT id, query, value, created_at, embedding <=> $1::vector AS distance
           FROM semantic_cache_entries
           WHERE tenant_id = $2 AND route = $3 AND scope = $4 AND context_key = $5 AND embedder = $6 AND expires_at > now()
           ORDER BY embedding <=> $1::vector LIMIT $7
         )
         SELECT id::text, query, value, distance::float8, extract(epoch FROM now() - created_at)::float8 AS age FROM nearest ORDER BY distance, id`,
        [toVectorParam(vector), at.tenantId, at.route, at.scope, at.contextKey, this.embedder.id, limit],
      );
      await client.query('COMMIT');
      return rows.map((r) => ({ id: r.id, query: r.query, similarity: 1 - r.distance, value: r.value, ageSeconds: Math.round(r.age) }));
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * The first of the nearest entries at or above the threshold that the guard finds the same
   * question; in shadow mode, what that would have been. A hit is counted on its entry.
   */
  async lookup<T>(at: SemanticAddress, query: string, o: { threshold: number; mode: 'on' | 'shadow'; guard?: boolean }): Promise<SemanticLookup<T>> {
    const candidates = await this.nearest(at, await this.embed(query));
    let nearest: SemanticNearest | undefined;
    for (const c of candidates) {
      if (c.similarity < o.threshold) break;
      const compared = o.guard === false ? { same: true, differences: [] } : compareQueries(query, c.query);
      if (!compared.same) {
        nearest ??= { similarity: c.similarity, cachedQuery: c.query, blockedBy: compared.differences };
        continue;
      }
      if (o.mode === 'shadow') return { outcome: 'shadow', wouldHit: true, nearest: { similarity: c.similarity, cachedQuery: c.query } };
      await this.db.query('UPDATE semantic_cache_entries SET hits = hits + 1, last_hit_at = now() WHERE id = $1', [c.id]);
      return { outcome: 'hit', similarity: c.similarity, cachedQuery: c.query, ageSeconds: c.ageSeconds, value: c.value as T, entryId: c.id };
    }
    const first = candidates[0];
    nearest ??= first ? { similarity: first.similarity, cachedQuery: first.query } : undefined;
    return o.mode === 'shadow' ? { outcome: 'shadow', wouldHit: false, nearest } : { outcome: 'miss', nearest };
  }

  /** Keep an answer for the questions near this one (replacing this question's own); returns the entry's id. */
  async store(at: SemanticAddress, query: string, value: unknown, ttlSeconds = this.settings.ttlSeconds): Promise<string | undefined> {
    const json = JSON.stringify(value);
    const bytes = Buffer.byteLength(json) + Buffer.byteLength(query) + this.embedder.dimensions * 4;
    if (bytes > this.settings.maxBytesPerTenant) return undefined;
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO semantic_cache_entries (tenant_id, route, scope, context_key, collection, corpus_version, query, embedder, embedding, value, bytes, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::vector, $10, $11, now() + make_interval(secs => $12))
       ON CONFLICT (tenant_id, route, scope, context_key, md5(query)) DO UPDATE
         SET embedder = EXCLUDED.embedder, embedding = EXCLUDED.embedding, value = EXCLUDED.value, bytes = EXCLUDED.bytes,
             created_at = now(), expires_at = EXCLUDED.expires_at, last_hit_at = now()
       RETURNING id::text`,
      [at.tenantId, at.route, at.scope, at.contextKey, at.collection ?? null, at.corpusVersion ?? null, query, this.embedder.id, toVectorParam(await this.embed(query)), json, bytes, ttlSeconds],
    );
    await this.budgets.stored(at.tenantId, bytes);
    return rows[0]?.id;
  }
}
