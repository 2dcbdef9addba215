// A task belongs to the tenant that started it; another tenant's task is indistinguishable
// from a missing one (404). A sub-task (`<taskId>.<sub>`: a plan's step, a routed agent) is its
// root task's: its approvals are decided through the same routes, under the root's tenant.
import type { Db } from '../infra/db/pool.js';
import type { Principal } from './auth.js';
import { notFound } from './errors.js';
import { rootTaskId } from '../activities/gateway/limits/index.js';

export async function ownedTask(db: Db, principal: Principal, taskId: string): Promise<{ type: string; created_at: Date }> {
  const { rows } = await db.query<{ type: string; created_at: Date }>('SELECT type, created_at FROM tasks WHERE id = $1 AND tenant_id = $2', [
    rootTaskId(taskId),
    principal.tenantId,
  ]);
  if (!rows[0]) throw notFound(`task ${taskId}`);
  return rows[0];
}
