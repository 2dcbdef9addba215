// API keys: `Authorization: Bearer gh_<id>_<secret>`. Only a SHA-256 of the key is stored;
// keys are 32 random bytes, so there is no dictionary to attack and a fast hash suffices.
// Each key belongs to one tenant and carries roles.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../infra/db/pool.js';
import { ApiError } from './errors.js';

// payloads:decode (and admin) may use the codec endpoint (api/routes/codec.ts), which decrypts
// any Temporal payload, whatever its tenant: a role for the deployment's operators.
// pii:read sees the values behind PII placeholders in answers; reviews:write answers tasks
// handed off to a human (needs_review).
export const ROLES = [
  'admin',
  'tasks:read',
  'tasks:write',
  'documents:read',
  'documents:write',
  'approvals:read',
  'approvals:write',
  'payloads:decode',
  'pii:read',
  'reviews:write',
] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  keyId: string;
  tenantId: string;
  roles: Role[];
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export async function ensureTenant(db: Db, tenantId: string, name = tenantId): Promise<void> {
  await db.query('INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [tenantId, name]);
}

/** Create a key; the plain key is returned once and never stored. */
export async function createApiKey(
  db: Db,
  opts: { tenantId: string; roles: Role[]; name?: string },
): Promise<{ id: string; key: string }> {
  const id = randomBytes(6).toString('hex');
  const key = `gh_${id}_${randomBytes(32).toString('base64url')}`;
  await ensureTenant(db, opts.tenantId);
  await db.query('INSERT INTO api_keys (id, tenant_id, key_hash, name, roles) VALUES ($1, $2, $3, $4, $5)', [
    id,
    opts.tenantId,
    hashApiKey(key),
    opts.name ?? '',
    opts.roles,
  ]);
  return { id, key };
}

/** Register (or re-point) a fixed key under a fixed id, e.g. the dev admin key of `npm start`. */
export async function upsertApiKey(db: Db, opts: { id: string; key: string; tenantId: string; roles: Role[]; name: string }): Promise<void> {
  await ensureTenant(db, opts.tenantId);
  await db.query(
    `INSERT INTO api_keys (id, tenant_id, key_hash, name, roles) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET key_hash = excluded.key_hash, roles = excluded.roles, revoked_at = NULL`,
    [opts.id, opts.tenantId, hashApiKey(opts.key), opts.name, opts.roles],
  );
}

/**
 * Looks keys up by hash, with a short cache so a busy client does not cost a query per
 * request. Another process sees a revocation within the cache's lifetime (10 s).
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 10_000,
  ) {}

  /** Forget cached keys, so a revocation takes effect at once in this process. */
  clear(): void {
    this.cache.clear();
  }

  async authenticate(header: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) throw new ApiError(401, 'unauthorized', 'missing or malformed Authorization header; expected "Bearer <api key>"');
    const hash = hashApiKey(match[1]!);
    const cached = this.cache.get(hash);
    let principal: Principal | null;
    if (cached && cached.until > Date.now()) {
      principal = cached.principal;
    } else {
      const { rows } = await this.db.query<{ id: string; tenant_id: string; roles: Role[] }>(
        'SELECT id, tenant_id, roles FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
        [hash],
      );
      principal = rows[0] ? { keyId: rows[0].id, tenantId: rows[0].tenant_id, roles: rows[0].roles } : null;
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { principal, until: Date.now() + this.ttlMs });
    }
    if (!principal) throw new ApiError(401, 'unauthorized', 'invalid or revoked API key');
    return principal;
  }
}

/** Writing implies reading what you wrote; admin implies everything within the tenant. */
const IMPLIED_BY: Partial<Record<Role, Role[]>> = {
  'tasks:read': ['tasks:write'],
  'documents:read': ['documents:write'],
  'approvals:read': ['approvals:write'],
};

export function hasRole(principal: Principal, role: Role): boolean {
  const granting: Role[] = ['admin', role, ...(IMPLIED_BY[role] ?? [])];
  return principal.roles.some((r) => granting.includes(r));
}

export function requireRole(principal: Principal, role: Role): void {
  if (hasRole(principal, role)) return;
  throw new ApiError(403, 'forbidden', `this API key lacks the "${role}" role`);
}
