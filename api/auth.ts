// Who is calling. Backends use API keys (`Authorization: Bearer gh_<id>_<secret>`; only a
// SHA-256 of the key is stored: keys are 32 random bytes, so a fast hash suffices). People —
// approvers above all — sign in with an OpenID Connect ID token from the configured issuer,
// verified against its JWKS (jose), or use an API key bound to them. Every key and person
// belongs to one tenant and carries roles.
//
// Approvals count people, not keys: a decision needs a principal with a user, and a key is
// bound to the person who minted it, so one admin with two keys is still one approver.
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../infra/config.js';
import type { Db } from '../infra/db/pool.js';
import { ApiError } from './errors.js';

// payloads:decode (and admin) may use the codec endpoint (api/routes/codec.ts) for their own
// tenant's Temporal payloads; `operator` — the deployment's operators, not a tenant role, so
// admin does not imply it — decodes every tenant's. pii:read sees the values behind PII
// placeholders; reviews:write answers tasks handed off to a human (needs_review); usage:read
// reads the tenant's model spend (GET /v1/usage); models:call calls models through the
// OpenAI-compatible proxy (POST /v1/chat/completions), under the key's limits.
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
  'usage:read',
  'models:call',
  'operator',
] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  /** The API key's id, or `oidc:<userId>` for a person signed in with an ID token. */
  keyId: string;
  tenantId: string;
  roles: Role[];
  /** The person behind the call; absent for a backend's key. */
  userId?: string;
  /** The application the key is for, if its creator named one: allow-lists may apply to it. */
  application?: string;
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
  opts: { tenantId: string; roles: Role[]; name?: string; userId?: string; application?: string },
): Promise<{ id: string; key: string }> {
  const id = randomBytes(6).toString('hex');
  const key = `gh_${id}_${randomBytes(32).toString('base64url')}`;
  await ensureTenant(db, opts.tenantId);
  await db.query('INSERT INTO api_keys (id, tenant_id, key_hash, name, roles, user_id, application) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    id,
    opts.tenantId,
    hashApiKey(key),
    opts.name ?? '',
    opts.roles,
    opts.userId ?? null,
    opts.application ?? null,
  ]);
  return { id, key };
}

export interface User {
  id: string;
  tenantId: string;
  name: string;
  email?: string;
  oidcSubject?: string;
  roles: Role[];
}

/** Provision a person of a tenant; with an OIDC subject they can sign in with the issuer's ID tokens. */
export async function createUser(
  db: Db,
  opts: { tenantId: string; name: string; roles: Role[]; email?: string; oidcIssuer?: string; oidcSubject?: string; id?: string },
): Promise<User> {
  const id = opts.id ?? `usr_${randomBytes(8).toString('hex')}`;
  await ensureTenant(db, opts.tenantId);
  await db.query(
    `INSERT INTO users (id, tenant_id, name, email, oidc_issuer, oidc_subject, roles) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, roles = excluded.roles, disabled_at = NULL`,
    [id, opts.tenantId, opts.name, opts.email ?? null, opts.oidcSubject ? opts.oidcIssuer ?? null : null, opts.oidcSubject ?? null, opts.roles],
  );
  return { id, tenantId: opts.tenantId, name: opts.name, email: opts.email, oidcSubject: opts.oidcSubject, roles: opts.roles };
}

/** Register (or re-point) a fixed key under a fixed id, e.g. the dev admin key of `npm start`. */
export async function upsertApiKey(db: Db, opts: { id: string; key: string; tenantId: string; roles: Role[]; name: string; userId?: string }): Promise<void> {
  await ensureTenant(db, opts.tenantId);
  await db.query(
    `INSERT INTO api_keys (id, tenant_id, key_hash, name, roles, user_id) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET key_hash = excluded.key_hash, roles = excluded.roles, user_id = excluded.user_id, revoked_at = NULL`,
    [opts.id, opts.tenantId, hashApiKey(opts.key), opts.name, opts.roles, opts.userId ?? null],
  );
}

type KeyRow = { id: string; tenant_id: string; roles: Role[]; user_id: string | null; application: string | null };

/** A key and its person: a key bound to a disabled (or another tenant's) user authenticates no one. */
const KEY_QUERY = `SELECT k.id, k.tenant_id, k.roles, k.user_id, k.application FROM api_keys k
  LEFT JOIN users u ON u.id = k.user_id
  WHERE k.revoked_at IS NULL AND (k.user_id IS NULL OR (u.disabled_at IS NULL AND u.tenant_id = k.tenant_id))`;

const keyPrincipal = (r: KeyRow): Principal => ({
  keyId: r.id,
  tenantId: r.tenant_id,
  roles: r.roles,
  ...(r.user_id ? { userId: r.user_id } : {}),
  ...(r.application ? { application: r.application } : {}),
});

/**
 * Looks keys up by hash, with a short cache so a busy client does not cost a query per
 * request. Another process sees a revocation within the cache's lifetime (10 s). ID tokens
 * are verified on every request (signature, issuer, audience, expiry) against the issuer's
 * JWKS, which jose fetches and caches.
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  private readonly jwks?: JWTVerifyGetKey;

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 10_000,
    private readonly oidc?: Config['api']['oidc'],
  ) {
    if (oidc) this.jwks = createRemoteJWKSet(new URL(oidc.jwksUrl));
  }

  /** Forget cached keys, so a revocation takes effect at once in this process. */
  clear(): void {
    this.cache.clear();
  }

  async authenticate(header: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) throw new ApiError(401, 'unauthorized', 'missing or malformed Authorization header; expected "Bearer <api key or ID token>"');
    const credential = match[1]!;
    if (/^[\w-]+\.[\w-]+\.[\w-]*$/.test(credential)) return this.authenticatePerson(credential);
    const hash = hashApiKey(credential);
    const cached = this.cache.get(hash);
    let principal: Principal | null;
    if (cached && cached.until > Date.now()) {
      principal = cached.principal;
    } else {
      const { rows } = await this.db.query<KeyRow>(`${KEY_QUERY} AND k.key_hash = $1`, [hash]);
      principal = rows[0] ? keyPrincipal(rows[0]) : null;
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { principal, until: Date.now() + this.ttlMs });
    }
    if (!principal) throw new ApiError(401, 'unauthorized', 'invalid or revoked API key');
    return principal;
  }

  /** The principal of a key by id (codec sessions re-read it on every request), or undefined. */
  async principalForKey(keyId: string): Promise<Principal | undefined> {
    const { rows } = await this.db.query<KeyRow>(`${KEY_QUERY} AND k.id = $1`, [keyId]);
    return rows[0] ? keyPrincipal(rows[0]) : undefined;
  }

  /** An OpenID Connect ID token: verified, then mapped to the provisioned person with that issuer and subject. */
  private async authenticatePerson(token: string): Promise<Principal> {
    if (!this.oidc || !this.jwks) throw new ApiError(401, 'unauthorized', 'OpenID Connect sign-in is not configured here (OIDC_ISSUER); use an API key');
    let subject: string;
    try {
      const { payload } = await jwtVerify(token, this.jwks, {
        issuer: this.oidc.issuer,
        audience: this.oidc.audience,
        algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'],
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      subject = payload.sub!;
    } catch (err) {
      // Never echo the token; say what was wrong with it.
      const why = err instanceof joseErrors.JWTExpired ? 'it has expired' : err instanceof joseErrors.JOSEError ? err.code : 'it could not be verified';
      throw new ApiError(401, 'unauthorized', `invalid ID token: ${why}`);
    }
    const { rows } = await this.db.query<{ id: string; tenant_id: string; roles: Role[] }>(
      'SELECT id, tenant_id, roles FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2 AND disabled_at IS NULL',
      [this.oidc.issuer, subject],
    );
    if (!rows[0]) throw new ApiError(403, 'forbidden', 'this person has no Gatehouse account; an admin of their tenant adds them (POST /v1/users)');
    return { keyId: `oidc:${rows[0].id}`, tenantId: rows[0].tenant_id, roles: rows[0].roles, userId: rows[0].id };
  }
}

/** Writing implies reading what you wrote; admin implies everything within the tenant. */
const IMPLIED_BY: Partial<Record<Role, Role[]>> = {
  'tasks:read': ['tasks:write'],
  'documents:read': ['documents:write'],
  'approvals:read': ['approvals:write'],
};

export function hasRole(principal: Principal, role: Role): boolean {
  // A tenant's admin is not a deployment operator.
  const granting: Role[] = role === 'operator' ? ['operator'] : ['admin', role, ...(IMPLIED_BY[role] ?? [])];
  return principal.roles.some((r) => granting.includes(r));
}

export function requireRole(principal: Principal, role: Role): void {
  if (hasRole(principal, role)) return;
  throw new ApiError(403, 'forbidden', `this API key lacks the "${role}" role`);
}

/** Approvals are decided by people: a backend's key (no user) may not decide one. */
export function requirePerson(principal: Principal): string {
  if (principal.userId) return principal.userId;
  throw new ApiError(403, 'forbidden', 'approvals are decided by people: sign in with an OpenID Connect ID token or use an API key bound to you');
}
