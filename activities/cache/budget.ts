// A tenant's share of a cache table: expired entries go first; then, keeping the most valuable
// first (most recent use for lru, most hits for lfu), every entry past the budget's running total.
// Trimming reads all of a tenant's entries, so it runs only when this process's running estimate
// of the tenant's bytes (the total at the last trim plus what it stored since) passes the budget,
// or the last trim is a minute old (other processes store too). The budget can be passed by what
// other processes stored within that minute.
import type { CacheSettings } from '../../infra/config.js';
import type { Db } from '../../infra/db/pool.js';

type CacheTable = 'cache_entries' | 'semantic_cache_entries';

const RECHECK_MS = 60_000;

export class TenantBudgets {
  private readonly estimates = new Map<string, { bytes: number; at: number }>();

  constructor(
    private readonly db: Db,
    private readonly table: CacheTable,
    private readonly settings: Pick<CacheSettings, 'eviction' | 'maxBytesPerTenant'>,
  ) {}

  /** After storing `bytes` for a tenant: trim it back within its budget if it may be over. */
  async stored(tenantId: string, bytes: number): Promise<void> {
    const known = this.estimates.get(tenantId);
    const estimate = (known?.bytes ?? Infinity) + bytes;
    if (known && estimate <= this.settings.maxBytesPerTenant && Date.now() - known.at < RECHECK_MS) {
      known.bytes = estimate;
      return;
    }
    this.estimates.set(tenantId, { bytes: await trimToBudget(this.db, this.table, tenantId, this.settings), at: Date.now() });
  }
}

/** Trims a tenant's entries to the budget; returns the bytes it keeps. */
export async function trimToBudget(db: Db, table: CacheTable, tenantId: string, settings: Pick<CacheSettings, 'eviction' | 'maxBytesPerTenant'>): Promise<number> {
  await db.query(`DELETE FROM ${table} WHERE tenant_id = $1 AND expires_at <= now()`, [tenantId]);
  const keep = settings.eviction === 'lfu' ? 'hits DESC, last_hit_at DESC' : 'last_hit_at DESC, hits DESC';
  // ctid names a row within this one statement, whatever the table's key.
  const { rows } = await db.query<{ kept: string }>(
    `WITH ranked AS (
       SELECT ctid AS row, bytes, sum(bytes) OVER (ORDER BY ${keep}, ctid) AS running FROM ${table} WHERE tenant_id = $1
     ), gone AS (
       DELETE FROM ${table} c USING ranked WHERE c.ctid = ranked.row AND ranked.running > $2
     )
     SELECT coalesce(sum(bytes) FILTER (WHERE running <= $2), 0)::text AS kept FROM ranked`,
    [tenantId, settings.maxBytesPerTenant],
  );
  return Number(rows[0]?.kept ?? 0);
}
