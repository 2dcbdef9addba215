// What a decision must pass before it touches its approval. The decideApproval Update runs
// these in its validator (a refused Update never reaches history); the approvalDecision Signal,
// which has no validator, runs them in its handler and records a refusal.
import { ApplicationFailure } from '@temporalio/workflow';
import { UpdateRefusal, type UpdateRefusalCode } from '../../contracts/refusals.js';
import { approverIdentity, type ApprovalDecision, type PendingApproval } from '../messages.js';

function refuse(type: UpdateRefusalCode, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** Throws the refusal (its type is the API's error code) unless `d` may decide `approval`. */
export function checkDecision(approval: PendingApproval | undefined, d: ApprovalDecision, tenantId: string): void {
  if (!approval) refuse(UpdateRefusal.ApprovalNotFound, `no approval ${d.approvalId} in this task`);
  if (approval.status !== 'pending') refuse(UpdateRefusal.ApprovalAlreadyDecided, `approval ${d.approvalId} is already ${approval.status}`);
  if (d.approver.tenantId !== tenantId) refuse(UpdateRefusal.ApprovalForbidden, 'this approval belongs to another tenant');
  const roles = d.approver.roles;
  if (!roles.includes('admin') && !roles.includes(approval.requiredRole)) refuse(UpdateRefusal.ApprovalForbidden, `deciding ${approval.tool} needs the "${approval.requiredRole}" role`);
  if (d.argumentsHash !== approval.argumentsHash) {
    refuse(UpdateRefusal.ArgumentsHashMismatch, 'argumentsHash does not match the pending arguments: reload the approval and decide on what it shows');
  }
  // People, not keys: a second key of the same person is not a second approver.
  if (d.decision === 'approve' && approval.approvedBy.includes(approverIdentity(d.approver))) {
    refuse(UpdateRefusal.ApprovalAlreadyDecided, 'this approver has already approved; a second approver is needed');
  }
  if (d.arguments !== undefined && (typeof d.arguments !== 'object' || d.arguments === null || Array.isArray(d.arguments))) {
    refuse(UpdateRefusal.InvalidArguments, 'arguments must be an object');
  }
}
