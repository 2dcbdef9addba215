// A tenant's cache entries across both stores, as an operator or reviewer sees them: the exact
// layers (model, retrieval, tool) in cache_entries, keyed by a request hash, and the semantic
// layer in semantic_cache_entries, keyed by its id. Never another tenant's.
import type { Db } from '../../infra/db/pool.js';
import { ExactCache, type CacheLayer } from './exact.js';

export type AnyCacheLayer = CacheLayer | 'semantic';

export interface EntrySummary {
  layer: AnyCacheLayer;
  scope: 'tenant' | 'user';
  /** A request hash; a semantic entry's id. */
  key: string;
  /** Semantic entries: the route and the (masked) question they answer. */
  route?: string;
  query?: string;
  bytes: number;
  hits: number;
  createdAt: string;
  expiresAt: string;
  lastHitAt: string;
  /** The start of a cached answer (placeholders stay masked); null for retrieval and tool results. */
  preview: string | null;
}

/** A tenant's live entries, most recently used first: both stores read alike, then merged. */
export async function listCacheEntries(db: Db, tenantId: string, o: { layer?: AnyCacheLayer; limit: number }): Promise<EntrySummary[]> {
  const exact =
    o.layer === 'semantic'
      ? []
      : await listed(
          db,
          `SELECT layer, scope = '' AS shared, key, NULL AS route, NULL AS query, bytes, hits, created_at, expires_at, last_hit_at, left(value->>'content', 200) AS preview
           FROM cache_entries WHERE tenant_id = $1 AND ($3::text IS NULL OR layer = $3) AND expires_at > now() ORDER BY last_hit_at DESC LIMIT $2`,
          [tenantId, o.limit, o.layer ?? null],
        );
  const semantic =
    o.layer && o.layer !== 'semantic'
      ? []
      : await listed(
          db,
          `SELECT 'semantic' AS layer, scope = '' AS shared, id::text AS key, route, query, bytes, hits, created_at, expires_at, last_hit_at, left(value->>'answer', 200) AS preview
           FROM semantic_cache_entries WHERE tenant_id = $1 AND expires_at > now() ORDER BY last_hit_at DESC LIMIT $2`,
          [tenantId, o.limit],
        );
  return [...exact, ...semantic].sort((a, b) => (a.lastHitAt < b.lastHitAt ? 1 : -1)).slice(0, o.limit);
}

/** Evict one entry (by key, or a semantic entry's id), a layer, or all; returns how many went. */
export async function evictCacheEntries(db: Db, tenantId: string, o: { layer?: AnyCacheLayer; key?: string }): Promise<number> {
  let evicted = 0;
  if (o.layer !== 'semantic') evicted += await ExactCache.evict(db, tenantId, { layer: o.layer, key: o.key });
  // A semantic entry's key is its id: a request hash names none of them.
  const semanticKey = o.key === undefined || /^\d+$/.test(o.key);
  if ((!o.layer || o.layer === 'semantic') && semanticKey) {
    const { rowCount } = await db.query('DELETE FROM semantic_cache_entries WHERE tenant_id = $1 AND ($2::bigint IS NULL OR id = $2)', [tenantId, o.key ?? null]);
    evicted += rowCount ?? 0;
  }
  return evicted;
}

async function listed(db: Db, sql: string, params: unknown[]): Promise<EntrySummary[]> {
  const { rows } = await db.query<{ layer: AnyCacheLayer; shared: boolean; key: string; route: string | null; query: string | null; bytes: number; hits: number; created_at: Date; expires_at: Date; last_hit_at: Date; preview: string | null }>(sql, params);
  return rows.map((r) => ({
    layer: r.layer,
    scope: r.shared ? 'tenant' : 'user',
    key: r.key,
    ...(r.route !== null ? { route: r.route } : {}),
    ...(r.query !== null ? { query: r.query } : {}),
    bytes: r.bytes,
    hits: r.hits,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at.toISOString(),
    lastHitAt: r.last_hit_at.toISOString(),
    preview: r.preview,
  }));
}
