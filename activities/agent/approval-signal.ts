// The check of a decision that arrived as a Signal (the Temporal UI, `temporal workflow
// signal`): it must carry an approval token the API signed for this task, approval, arguments
// hash and decision (infra/approval-tokens.ts). Whatever is wrong with it, the answer is a
// refusal with a reason, never a thrown error: a bad Signal must not fail the task.
import { z } from 'zod';
import { approvalSignal, type ApprovalDecision } from '../../contracts/approvals.js';
import type { PayloadKeyRing } from '../../infra/config.js';
import { REFUSED_PAYLOAD_FIELD } from '../../infra/payload-codec.js';
import { ApprovalTokenError, verifyApprovalToken } from '../../infra/approval-tokens.js';

/** A Signal decision, and edited arguments if someone tried to send them this way (refused). */
const signalDecision = approvalSignal.extend({ arguments: z.unknown().optional() });

export interface VerifySignalInput {
  taskId: string;
  tenantId: string;
  /** The Signal's argument as it arrived: anything at all. */
  signal: unknown;
}

export type VerifySignalOutput = { ok: true; decision: ApprovalDecision } | { ok: false; reason: string; approvalId?: string };

export async function verifyApprovalSignal(ring: PayloadKeyRing, input: VerifySignalInput): Promise<VerifySignalOutput> {
  const refused = (input.signal as Record<string, unknown> | null)?.[REFUSED_PAYLOAD_FIELD];
  if (typeof refused === 'string') return { ok: false, reason: refused };
  const parsed = signalDecision.safeParse(input.signal);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const approvalId = typeof (input.signal as { approvalId?: unknown } | null)?.approvalId === 'string' ? String((input.signal as { approvalId: string }).approvalId).slice(0, 64) : undefined;
    const missingToken = issue.path[0] === 'token';
    return {
      ok: false,
      approvalId,
      reason: missingToken
        ? 'a Signal decision needs an approval token: get one with `gatehouse approval-token <taskId> <approvalId>` (POST /v1/tasks/{taskId}/approvals/{approvalId}/token)'
        : `the Signal is not a decision: ${issue.path.join('.') || 'input'}: ${issue.message}`,
    };
  }
  const d = parsed.data;
  if (d.arguments !== undefined) return { ok: false, approvalId: d.approvalId, reason: 'edited arguments are approved through the API, not by Signal' };
  try {
    const claims = await verifyApprovalToken(ring, d.token, { taskId: input.taskId, tenantId: input.tenantId, approvalId: d.approvalId, argumentsHash: d.argumentsHash, decision: d.decision });
    return {
      ok: true,
      decision: {
        approvalId: d.approvalId,
        decision: d.decision,
        argumentsHash: d.argumentsHash,
        ...(d.reason !== undefined ? { reason: d.reason } : {}),
        approver: { keyId: claims.keyId, userId: claims.userId, tenantId: claims.tenantId, roles: claims.roles },
      },
    };
  } catch (err) {
    if (err instanceof ApprovalTokenError) return { ok: false, approvalId: d.approvalId, reason: err.message };
    throw err;
  }
}
