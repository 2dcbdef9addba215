// A tenant's share of a cache table: expired entries go first; then, keeping the most valuable
// first (most recent use for lru, most hits for lfu), every entry past the budget's running total.
import type { CacheSettings } from '../../infra/config.js';
import type { Db } from '../../infra/db/pool.js';

export async function trimToBudget(db: Db, table: 'cache_entries' | 'semantic_cache_entries', tenantId: string, settings: Pick<CacheSettings, 'eviction' | 'maxBytesPerTenant'>): Promise<void> {
  await db.query(`DELETE FROM ${table} WHERE tenant_id = $1 AND expires_at <= now()`, [tenantId]);
  const keep = settings.eviction === 'lfu' ? 'hits DESC, last_hit_at DESC' : 'last_hit_at DESC, hits DESC';
  // ctid names a row within this one statement, whatever the table's key.
  await db.query(
    `DELETE FROM ${table} c USING (
       SELECT ctid AS row, sum(bytes) OVER (ORDER BY ${keep}, ctid) AS running FROM ${table} WHERE tenant_id = $1
     ) ranked
     WHERE c.ctid = ranked.row AND ranked.running > $2`,
    [tenantId, settings.maxBytesPerTenant],
  );
}
