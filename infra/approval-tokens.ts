// Approval tokens: how a decision sent as a Signal (the Temporal UI's form, an operator's
// `temporal workflow signal`) proves who made it. A Signal carries no caller identity, so the
// API signs one for a person who may decide — bound to the task, the approval, the arguments
// hash they saw and the decision, valid for minutes — and the worker verifies it before the
// workflow applies the decision. Without a valid token, a Signal decides nothing.
//
// HS256 with a key derived from the payload key ring: the API and every worker already share
// those keys, and the token names its key id, so key rotation carries over.
import { hkdfSync } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { ApprovalChoice } from '../contracts/approvals.js';
import type { PayloadKeyRing } from './config.js';

const AUDIENCE = 'gatehouse:approvalDecision';
const ISSUER = 'gatehouse';

export interface ApprovalClaims {
  /** The workflow (task) the decision is for. */
  taskId: string;
  tenantId: string;
  approvalId: string;
  argumentsHash: string;
  decision: ApprovalChoice;
  /** The person deciding, and the key or sign-in they used. */
  userId: string;
  keyId: string;
  roles: string[];
}

function signingKey(ring: PayloadKeyRing, keyId: string): Uint8Array {
  const key = ring.keys.get(keyId);
  if (!key) throw new ApprovalTokenError(`the token names an unknown key id "${keyId.slice(0, 64)}"`);
  return new Uint8Array(hkdfSync('sha256', key, new Uint8Array(), 'gatehouse approval tokens v1', 32));
}

export class ApprovalTokenError extends Error {
  override name = 'ApprovalTokenError';
}

export async function signApprovalToken(ring: PayloadKeyRing, claims: ApprovalClaims, minutes: number): Promise<{ token: string; expiresAt: string }> {
  const expiresAt = new Date(Date.now() + minutes * 60_000);
  const token = await new SignJWT({
    tid: claims.tenantId,
    wid: claims.taskId,
    apr: claims.approvalId,
    ah: claims.argumentsHash,
    dec: claims.decision,
    key: claims.keyId,
    roles: claims.roles,
  })
    .setProtectedHeader({ alg: 'HS256', kid: ring.currentKeyId })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(claims.userId)
    .setIssuedAt()
    .setExpirationTime(expiresAt)
    .sign(signingKey(ring, ring.currentKeyId));
  return { token, expiresAt: expiresAt.toISOString() };
}

/**
 * The claims of a valid token for exactly this decision; throws ApprovalTokenError saying what
 * does not match (never echoing the token).
 */
export async function verifyApprovalToken(
  ring: PayloadKeyRing,
  token: string,
  expected: Pick<ApprovalClaims, 'taskId' | 'tenantId' | 'approvalId' | 'argumentsHash' | 'decision'>,
): Promise<ApprovalClaims> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, (header) => signingKey(ring, String(header.kid ?? '')), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp'],
    }));
  } catch (err) {
    if (err instanceof ApprovalTokenError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new ApprovalTokenError('the approval token has expired; ask the API for a new one');
    throw new ApprovalTokenError(`the approval token is not valid (${err instanceof joseErrors.JOSEError ? err.code : 'unreadable'})`);
  }
  const bound: Array<[keyof typeof expected, unknown]> = [
    ['taskId', payload.wid],
    ['tenantId', payload.tid],
    ['approvalId', payload.apr],
    ['argumentsHash', payload.ah],
    ['decision', payload.dec],
  ];
  for (const [field, value] of bound) {
    if (value !== expected[field]) throw new ApprovalTokenError(`the approval token was issued for another ${field}`);
  }
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
  return { ...expected, userId: String(payload.sub), keyId: String(payload.key ?? ''), roles };
}
