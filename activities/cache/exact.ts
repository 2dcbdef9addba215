// The exact cache, in Postgres (the same database, nothing new to run): an entry is stored under
// the SHA-256 of its normalised request and found only by the same tenant, layer and scope (''
// for the tenant's shared entries, a user id for one user's). Entries expire; when a tenant's
// entries outgrow its budget, the least recently (lru) or least often (lfu) used are evicted.
import { createHash } from 'node:crypto';
import type { CacheSettings } from '../../infra/config.js';
import type { Db } from '../../infra/db/pool.js';
import { TenantBudgets } from './budget.js';

export type CacheLayer = 'model' | 'retrieval' | 'tool';

export interface CacheAddress {
  tenantId: string;
  layer: CacheLayer;
  /** '' for an entry shared within the tenant; the user's id for one kept to them. */
  scope: string;
  key: string;
}

/** A stable hash of a request: object keys sorted, so the same request always hashes the same. */
export function requestKey(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export class ExactCache {
  private readonly budgets: TenantBudgets;

  constructor(
    private readonly db: Db,
    readonly settings: CacheSettings,
  ) {
    this.budgets = new TenantBudgets(db, 'cache_entries', settings);
  }

  /** The live entry at this address, counted as a hit; undefined on a miss. */
  async get<T>(at: CacheAddress): Promise<{ value: T; ageSeconds: number } | undefined> {
    const { rows } = await this.db.query<{ value: T; age: number }>(
      `UPDATE cache_entries SET hits = hits + 1, last_hit_at = now()
       WHERE tenant_id = $1 AND layer = $2 AND scope = $3 AND key = $4 AND expires_at > now()
       RETURNING value, extract(epoch FROM now() - created_at)::float8 AS age`,
      [at.tenantId, at.layer, at.scope, at.key],
    );
    const row = rows[0];
    return row ? { value: row.value, ageSeconds: Math.round(row.age) } : undefined;
  }

  /** Evict a tenant's entries: one key (in any scope), a layer, or all; returns how many went. */
  static async evict(db: Db, tenantId: string, o: { layer?: CacheLayer; key?: string }): Promise<number> {
    const { rowCount } = await db.query(
      'DELETE FROM cache_entries WHERE tenant_id = $1 AND ($2::text IS NULL OR layer = $2) AND ($3::text IS NULL OR key = $3)',
      [tenantId, o.layer ?? null, o.key ?? null],
    );
    return rowCount ?? 0;
  }

  /** Store (or replace) an entry, then keep the tenant within its budget. */
  async put(at: CacheAddress, value: unknown, ttlSeconds = this.settings.ttlSeconds): Promise<void> {
    const json = JSON.stringify(value);
    const bytes = Buffer.byteLength(json);
    if (bytes > this.settings.maxBytesPerTenant) return;
    await this.db.query(
      `INSERT INTO cache_entries (tenant_id, layer, scope, key, value, bytes, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
       ON CONFLICT (tenant_id, layer, scope, key) DO UPDATE
         SET value = EXCLUDED.value, bytes = EXCLUDED.bytes, created_at = now(), expires_at = EXCLUDED.expires_at, last_hit_at = now()`,
      [at.tenantId, at.layer, at.scope, at.key, json, bytes, ttlSeconds],
    );
    await this.budgets.stored(at.tenantId, bytes);
  }
}
