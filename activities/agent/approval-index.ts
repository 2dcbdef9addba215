// The approvals table mirrors each approval's state (the workflow owns it) so the API can list
// pending approvals across tasks with one query.
import type { Db } from '../../infra/db/pool.js';
import type { PendingApproval } from '../../contracts/approvals.js';

export async function indexApproval(db: Db, input: { tenantId: string; taskId: string; approval: PendingApproval }): Promise<void> {
  const a = input.approval;
  const decided = a.status === 'pending' ? null : new Date();
  await db.query(
    `INSERT INTO approvals (task_id, approval_id, tenant_id, tool, arguments, arguments_hash, preview, rationale, provenance,
                            required_role, approvals_needed, status, decided_by, reason, requested_at, expires_at, decided_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (task_id, approval_id) DO UPDATE SET
       status = excluded.status, decided_by = excluded.decided_by, reason = excluded.reason,
       expires_at = excluded.expires_at, required_role = excluded.required_role,
       decided_at = coalesce(approvals.decided_at, excluded.decided_at)`,
    [
      input.taskId,
      a.approvalId,
      input.tenantId,
      a.tool,
      JSON.stringify(a.arguments),
      a.argumentsHash,
      JSON.stringify(a.preview),
      a.rationale,
      JSON.stringify(a.provenance),
      a.requiredRole,
      a.approvalsNeeded,
      a.status,
      a.approvedBy,
      a.reason ?? null,
      a.requestedAt,
      a.expiresAt,
      decided,
    ],
  );
}
