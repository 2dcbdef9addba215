// Approvals: a write action (or a budget extension) waiting for people, the decisions they
// send — an Update from the API, a Signal with an approval token from the Temporal UI — and
// what the workflow answers.
import { z } from 'zod';

/** The pseudo-tool behind "extend budget?" approvals: decided like a write, applied by the workflow, never executed. */
export const EXTEND_BUDGET = 'extend_budget';

/** The identity of whoever decides an approval, as the API authenticated it. */
export const approver = z.object({
  keyId: z.string(),
  /** The person: approvals count people (keyId only for decisions recorded before people). */
  userId: z.string().optional(),
  tenantId: z.string(),
  roles: z.array(z.string()),
});
export type Approver = z.infer<typeof approver>;

/** Who an approver is, for counting approvals: the person, else (older histories) the key. */
export function approverIdentity(a: Approver): string {
  return a.userId ?? a.keyId;
}

export const approvalChoice = z.enum(['approve', 'reject']);
export type ApprovalChoice = z.infer<typeof approvalChoice>;

export const approvalStatus = z.enum(['pending', 'approved', 'rejected', 'expired', 'superseded', 'executed', 'failed']);
export type ApprovalStatus = z.infer<typeof approvalStatus>;

export const actionPreview = z.object({
  /** One line a human reads first, e.g. "Refund $79.00 on order 1004 (Emily Doe)". */
  summary: z.string(),
  /** What would change: rows before/after, the email as it would be sent. */
  changes: z.unknown(),
});

export const pendingApproval = z.object({
  approvalId: z.string(),
  tool: z.string(),
  arguments: z.record(z.string(), z.unknown()),
  argumentsHash: z.string(),
  preview: actionPreview,
  rationale: z.string(),
  /** Per argument, where its value came from (activities/agent/provenance.ts). */
  provenance: z.array(z.unknown()),
  requestedAt: z.string(),
  expiresAt: z.string(),
  requiredRole: z.string(),
  approvalsNeeded: z.number().int(),
  approvedBy: z.array(z.string()),
  status: approvalStatus,
  reason: z.string().optional(),
  result: z.unknown().optional(),
  /** Set when approved with edited arguments: the approval that shows the edit. */
  supersededBy: z.string().optional(),
  /** Set once an expired approval was escalated (it then needs an admin). */
  escalated: z.boolean().optional(),
});
export type PendingApproval = z.infer<typeof pendingApproval>;

/** The decideApproval Update's argument: the API's way to decide, with the approver it authenticated. */
export const approvalDecision = z.object({
  approvalId: z.string(),
  decision: approvalChoice,
  /** The hash of the arguments the approver saw; a mismatch means they saw something else. */
  argumentsHash: z.string(),
  reason: z.string().optional(),
  /** Approve with these arguments instead: re-validated and shown again as a new approval. */
  arguments: z.record(z.string(), z.unknown()).optional(),
  approver,
});
export type ApprovalDecision = z.infer<typeof approvalDecision>;

/**
 * A decision sent as a Signal (the Temporal UI's form): it carries an approval token the API
 * signed for this task, approval, arguments hash and decision; the worker verifies it. A
 * Signal is anyone's text, so its bounds are checked before anything reads it.
 */
export const approvalSignal = z.object({
  approvalId: z.string().min(1).max(64),
  decision: approvalChoice,
  argumentsHash: z.string().min(1).max(128),
  reason: z.string().max(2000).optional(),
  token: z.string().min(1).max(4096),
});
export type ApprovalSignal = z.infer<typeof approvalSignal>;

export const approvalOutcome = z.object({
  approvalId: z.string(),
  status: z.union([approvalStatus, z.literal('awaiting_second_approval')]),
  /** When edited arguments were approved: the new approval that shows them. */
  newApprovalId: z.string().optional(),
  result: z.unknown().optional(),
  error: z.string().optional(),
});
export type ApprovalOutcome = z.infer<typeof approvalOutcome>;
