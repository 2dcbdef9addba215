// Which tenant a workflow belongs to, for the payload codec: every payload is encrypted with
// its tenant authenticated beside it, so the codec endpoint can decode a tenant's payloads for
// that tenant only. The SDK tells a codec the workflow id a payload belongs to; the id maps to
// the API's own records (`tasks`, `ingestions`), written before any workflow starts.
import type { Db } from './db/pool.js';

/** How long a lookup that found nothing is believed: a row may be written a moment later. */
const NEGATIVE_TTL_MS = 5_000;
const MAX_ENTRIES = 50_000;

/**
 * The task or ingestion a workflow id stands for: `task_…` and `ing_…` are rows; a plan's
 * sub-task is `<taskId>.<subId>` and an operator's undo `compensate.<taskId>.<approvalId>`.
 */
export function rootWorkflowId(workflowId: string): string {
  return workflowId.replace(/^compensate\./, '').split('.')[0]!;
}

export class WorkflowTenants {
  private db?: Db;
  private readonly known = new Map<string, string>();
  private readonly missing = new Map<string, number>();

  constructor(db?: Db) {
    this.db = db;
  }

  /** Late binding for converters built before their process has a pool (tests, workers). */
  attach(db: Db): void {
    this.db = db;
  }

  /** The caller knows (it is about to start the workflow): no lookup needed. */
  remember(workflowId: string, tenantId: string): void {
    if (this.known.size >= MAX_ENTRIES) this.known.clear();
    this.known.set(rootWorkflowId(workflowId), tenantId);
  }

  /** The workflow's tenant, or undefined for a workflow Gatehouse did not start (tests, tools). */
  async tenantOf(workflowId: string | undefined): Promise<string | undefined> {
    if (!workflowId) return undefined;
    const root = rootWorkflowId(workflowId);
    const hit = this.known.get(root);
    if (hit) return hit;
    if (!this.db || (this.missing.get(root) ?? 0) > Date.now()) return undefined;
    const { rows } = await this.db.query<{ tenant_id: string }>(
      'SELECT tenant_id FROM tasks WHERE id = $1 UNION ALL SELECT tenant_id FROM ingestions WHERE id = $1 LIMIT 1',
      [root],
    );
    if (!rows[0]) {
      if (this.missing.size >= MAX_ENTRIES) this.missing.clear();
      this.missing.set(root, Date.now() + NEGATIVE_TTL_MS);
      return undefined;
    }
    this.remember(root, rows[0].tenant_id);
    return rows[0].tenant_id;
  }
}
