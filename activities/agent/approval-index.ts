// The approvals table mirrors each approval's state (the workflow owns it) so the API can list
// pending approvals across tasks with one query. The move out of pending is where an approval's
// wait is measured (gatehouse_approval_wait_seconds); the pending ones are counted at scrape time.
import type { Db } from '../../infra/db/pool.js';
import { metrics } from '../../infra/metrics.js';
import type { PendingApproval } from '../../contracts/approvals.js';

export async function indexApproval(db: Db, input: { tenantId: string; taskId: string; approval: PendingApproval }): Promise<void> {
  const a = input.approval;
  const decided = a.status === 'pending' ? null : new Date();
  // `previous` reads the row as it was before this statement (one snapshot for the whole WITH).
  const { rows } = await db.query<{ previous: string | null }>(
    `WITH before AS (SELECT status FROM approvals WHERE task_id = $1 AND approval_id = $2)
     INSERT INTO approvals (task_id, approval_id, tenant_id, tool, arguments, arguments_hash, preview, rationale, provenance,
                            required_role, approvals_needed, status, decided_by, reason, requested_at, expires_at, decided_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (task_id, approval_id) DO UPDATE SET
       status = excluded.status, decided_by = excluded.decided_by, reason = excluded.reason,
       expires_at = excluded.expires_at, required_role = excluded.required_role,
       decided_at = coalesce(approvals.decided_at, excluded.decided_at)
     RETURNING (SELECT status FROM before) AS previous`,
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
  // Only the move out of pending is a wait that ended (a retried activity finds it decided already).
  if (decided && rows[0]?.previous === 'pending') {
    const waitSeconds = Math.max(0, (decided.getTime() - new Date(a.requestedAt).getTime()) / 1000);
    metrics.approvalWait.observe({ tenant: input.tenantId, tool: a.tool, status: a.status }, waitSeconds);
  }
}
