// What the API shows of an agent task's status query.
import type { AgentStatus, PendingApproval } from '../workflows/messages.js';

export type AgentView = ReturnType<typeof agentView>;

export function approvalFields(a: PendingApproval) {
  return {
    approvalId: a.approvalId,
    tool: a.tool,
    arguments: a.arguments,
    argumentsHash: a.argumentsHash,
    preview: a.preview,
    rationale: a.rationale,
    provenance: a.provenance,
    requiredRole: a.requiredRole,
    approvalsNeeded: a.approvalsNeeded,
    approvedBy: a.approvedBy,
    status: a.status,
    reason: a.reason,
    requestedAt: a.requestedAt,
    expiresAt: a.expiresAt,
  };
}

export function agentView(s: AgentStatus) {
  return {
    phase: s.phase,
    mode: s.mode,
    plan: s.plan,
    pendingApprovals: s.pendingApprovals.map(approvalFields),
    // Every approval of the task, decided ones too: its timeline shows what was asked and what people said.
    approvals: s.approvals.map(approvalFields),
    budgets: s.budgets,
    used: s.used,
    answers: s.answers,
    question: s.question,
  };
}
