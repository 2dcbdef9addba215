// Approval tokens: a Signal decision proves who made it, for exactly one decision, for minutes.
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { verifyApprovalSignal } from '../../activities/agent/approval-signal.js';
import { signApprovalToken, verifyApprovalToken, type ApprovalClaims } from '../../infra/approval-tokens.js';
import type { PayloadKeyRing } from '../../infra/config.js';
import { REFUSED_PAYLOAD_FIELD } from '../../infra/payload-codec.js';

const ring = (current: string, keys: Record<string, Buffer>): PayloadKeyRing => ({ currentKeyId: current, keys: new Map(Object.entries(keys)) });
const k1 = randomBytes(32);
const claims: ApprovalClaims = {
  taskId: 'task_1',
  tenantId: 'acme',
  approvalId: 'apr_2',
  argumentsHash: 'a'.repeat(64),
  decision: 'approve',
  userId: 'usr_ada',
  keyId: 'key_1',
  roles: ['approvals:write'],
};
const expected = { taskId: 'task_1', tenantId: 'acme', approvalId: 'apr_2', argumentsHash: 'a'.repeat(64), decision: 'approve' as const };

describe('approval tokens', () => {
  it('verify for exactly the decision they were signed for, and name the person', async () => {
    const { token, expiresAt } = await signApprovalToken(ring('k1', { k1 }), claims, 10);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(await verifyApprovalToken(ring('k1', { k1 }), token, expected)).toEqual(claims);
    for (const [field, value] of [['taskId', 'task_2'], ['tenantId', 'globex'], ['approvalId', 'apr_3'], ['argumentsHash', 'b'.repeat(64)], ['decision', 'reject']] as const) {
      await expect(verifyApprovalToken(ring('k1', { k1 }), token, { ...expected, [field]: value })).rejects.toThrow(`the approval token was issued for another ${field}`);
    }
  });

  it('survive key rotation, and refuse other keys, tampering, expiry and other algorithms', async () => {
    const { token } = await signApprovalToken(ring('k1', { k1 }), claims, 10);
    const k2 = randomBytes(32);
    expect((await verifyApprovalToken(ring('k2', { k2, k1 }), token, expected)).userId).toBe('usr_ada');
    await expect(verifyApprovalToken(ring('k1', { k1: randomBytes(32) }), token, expected)).rejects.toThrow(/not valid \(ERR_JWS_SIGNATURE_VERIFICATION_FAILED\)/);
    await expect(verifyApprovalToken(ring('k2', { k2 }), token, expected)).rejects.toThrow(/unknown key id "k1"/);
    const [h, p, sig] = token.split('.');
    const forged = JSON.parse(Buffer.from(p!, 'base64url').toString());
    forged.sub = 'usr_mallory';
    await expect(verifyApprovalToken(ring('k1', { k1 }), `${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${sig}`, expected)).rejects.toThrow(/not valid/);
    const expired = await new SignJWT({ ...forged, sub: undefined })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('usr_ada')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new Uint8Array(32));
    await expect(verifyApprovalToken(ring('k1', { k1 }), expired, expected)).rejects.toThrow(/not valid|expired/);
    await expect(verifyApprovalToken(ring('k1', { k1 }), 'eyJhbGciOiJub25lIn0.e30.', expected)).rejects.toThrow(/not valid/);
  });
});

describe('verifyApprovalSignal', () => {
  const input = (signal: unknown) => ({ taskId: 'task_1', tenantId: 'acme', signal });
  const bare = { approvalId: 'apr_2', decision: 'approve', argumentsHash: 'a'.repeat(64) };

  it('refuses, with a reason and never a throw, whatever is not a decision with a valid token', async () => {
    const keys = ring('k1', { k1 });
    expect(await verifyApprovalSignal(keys, input({ [REFUSED_PAYLOAD_FIELD]: 'unencrypted payload: …' }))).toEqual({ ok: false, reason: 'unencrypted payload: …' });
    expect(await verifyApprovalSignal(keys, input(bare))).toMatchObject({ ok: false, approvalId: 'apr_2', reason: expect.stringContaining('needs an approval token') });
    // The old Signal shape with a self-declared approver is refused too.
    expect(await verifyApprovalSignal(keys, input({ ...bare, approver: { keyId: 'x', tenantId: 'acme', roles: ['admin'] } }))).toMatchObject({ ok: false });
    for (const junk of [null, 'approve', 42, [], { approvalId: 7 }]) expect(await verifyApprovalSignal(keys, input(junk))).toMatchObject({ ok: false });
    expect(await verifyApprovalSignal(keys, input({ ...bare, token: 'x.y.z' }))).toMatchObject({ ok: false, reason: expect.stringContaining('not valid') });
    const { token } = await signApprovalToken(keys, claims, 10);
    expect(await verifyApprovalSignal(keys, input({ ...bare, token, arguments: { amountUsd: 1 } }))).toMatchObject({ ok: false, reason: expect.stringContaining('through the API') });
    expect(await verifyApprovalSignal(keys, { ...input({ ...bare, token }), taskId: 'task_9' })).toMatchObject({ ok: false, reason: 'the approval token was issued for another taskId' });
  });

  it('turns a valid one into a decision by the person the token names', async () => {
    const keys = ring('k1', { k1 });
    const { token } = await signApprovalToken(keys, claims, 10);
    expect(await verifyApprovalSignal(keys, input({ ...bare, token, reason: 'ok' }))).toEqual({
      ok: true,
      decision: { ...bare, reason: 'ok', approver: { keyId: 'key_1', userId: 'usr_ada', tenantId: 'acme', roles: ['approvals:write'] } },
    });
  });
});
