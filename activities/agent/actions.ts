// Write actions: propose (dry-run preview, arguments hash, per-argument provenance, policy), execute
// exactly once through the action ledger, and compensate. The workflow decides when; these act.
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { EXTEND_BUDGET } from '../../contracts/approvals.js';
import { inTransaction, type Db } from '../../infra/db/pool.js';
import { evictToolResults } from '../cache/tools.js';
import type { ToolRegistry } from '../tools/registry.js';
import { InvalidToolArguments, type ProvenanceItem, type ToolContext, type ToolDefinition, type ToolServices } from '../tools/types.js';
import { resolvePolicy, type ResolvedPolicy } from './policy.js';
import { attributeArguments, type ArgumentProvenance, type EvidenceItem, type QuarantinedItem } from './provenance.js';

/** SHA-256 of the arguments in a canonical JSON form (keys sorted), so key order never matters. */
export function argumentsHash(tool: string, args: unknown): string {
  return createHash('sha256').update(`${tool}\u0000${canonicalJson(args)}`).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Which action: the task, its approval and the tool call it approves. */
export interface ActionRef {
  tenantId: string;
  taskId: string;
  collection: string;
  approvalId: string;
  tool: string;
  arguments: Record<string, unknown>;
}

export interface ProposeInput extends ActionRef {
  /** Evidence gathered so far this turn (user messages, chunks, tool outputs). */
  evidence: ProvenanceItem[];
}

export type ProposeOutput =
  | {
      ok: true;
      /**
       * The arguments as the tool's schema parsed them (unknown keys dropped, e.g. from an
       * approver's edit): what the hash covers, what the approver is shown and what runs.
       */
      arguments: Record<string, unknown>;
      argumentsHash: string;
      preview: { summary: string; changes: unknown };
      policy: ResolvedPolicy;
      /** Per argument: where its value came from (see provenance.ts). */
      provenance: ArgumentProvenance[];
      /** The ledger already holds this action (a reset run, a replayed proposal): its recorded result. */
      alreadyExecuted?: { result: unknown; executedAt: string };
    }
  | { ok: false; error: string };
export type Proposal = Extract<ProposeOutput, { ok: true }>;

export async function proposeAction(services: ToolServices, registry: ToolRegistry, input: ProposeInput): Promise<ProposeOutput> {
  if (input.tool === EXTEND_BUDGET) {
    return {
      ok: true,
      arguments: input.arguments,
      argumentsHash: argumentsHash(input.tool, input.arguments),
      preview: { summary: 'Extend the task budget', changes: input.arguments },
      policy: { mode: 'ask', approvalsNeeded: 1, requiredRole: 'tasks:write', rule: 'budgets are extended by the task owner' },
      provenance: [],
    };
  }
  const tool = registry.get(input.tool);
  if (!tool || tool.kind !== 'write') return { ok: false, error: `"${input.tool}" is not a write tool` };
  const checked = tool.parameters.safeParse(input.arguments);
  if (!checked.success) {
    return { ok: false, error: `invalid arguments for ${input.tool}: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  }
  // The model's calls arrive parsed already (decide checks them); an approver's edit does not.
  const args = checked.data as Record<string, unknown>;
  const hash = argumentsHash(input.tool, args);
  const ctx: ToolContext = { ...services, tenantId: input.tenantId, taskId: input.taskId, collection: input.collection };
  const own = await ledgerEntry(services.db, ledgerKey(input.taskId, input.approvalId));
  // A what-if fork never repeats a write its original (or theirs) executed: the same tool with
  // the same arguments comes back with the original's recorded result.
  const recorded = own && own.arguments_hash === hash ? own : await executedBeforeFork(services.db, input.tenantId, input.taskId, input.tool, hash);
  if (recorded && recorded.arguments_hash === hash) {
    const { content, summary } = recorded.result as { content: unknown; summary: string };
    return {
      ok: true,
      arguments: args,
      argumentsHash: hash,
      preview: { summary: `Already executed at ${recorded.executed_at.toISOString()}: ${summary}`, changes: content },
      policy: { mode: 'auto', approvalsNeeded: 0, requiredRole: 'approvals:write', rule: 'already executed (action ledger)' },
      provenance: [],
      alreadyExecuted: { result: content, executedAt: recorded.executed_at.toISOString() },
    };
  }
  let preview;
  try {
    preview = await tool.preview!(args, ctx);
  } catch (err) {
    if (err instanceof InvalidToolArguments) return { ok: false, error: err.message };
    throw err;
  }
  const trustedTool = (name: string) => registry.get(name)?.trustedOutput === true;
  const provenance = attributeArguments(args, await storedEvidence(services.db, input.tenantId, input.taskId, input.evidence), trustedTool);
  const policy = await resolvePolicy(services.db, input.tenantId, tool, args, provenance);
  // The workflow keeps a proposal's preview, not its rule: the reason a person must look goes
  // where every approver (API, CLI, approvals index, event stream) reads first.
  if (policy.untrustedArguments) preview = { ...preview, summary: `${preview.summary} — ${policy.rule}` };
  return { ok: true, arguments: args, argumentsHash: hash, preview, policy, provenance };
}

/**
 * The evidence to attribute arguments against, from storage where the workflow's copy is short:
 * a chunk's whole text (the workflow keeps a 600-character excerpt, and a planted address
 * further down must not pass for the model's own), and the untrusted text the guard
 * quarantined in this task or its sub-tasks (held back from the model, so in no evidence).
 */
async function storedEvidence(db: Db, tenantId: string, taskId: string, evidence: ProvenanceItem[]): Promise<EvidenceItem[]> {
  const chunkIds = [...new Set(evidence.flatMap((e) => (e.type === 'document_chunk' && /^\d+$/.test(e.chunkId) ? [e.chunkId] : [])))];
  const [chunks, held] = await Promise.all([
    chunkIds.length
      ? db.query<{ id: string; text: string }>('SELECT id::text AS id, text FROM chunks WHERE tenant_id = $1 AND id = ANY($2::bigint[])', [tenantId, chunkIds])
      : { rows: [] },
    // Sub-tasks of a plan run as `<task>.<subtask id>`.
    db.query<{ source: 'document' | 'tool'; source_ref: string | null; excerpt: string; document_id: string | null }>(
      `SELECT q.source, q.source_ref, q.excerpt, c.document_id
         FROM guardrail_quarantine q
         LEFT JOIN chunks c ON q.source = 'document' AND c.tenant_id = q.tenant_id
                          AND c.id = CASE WHEN q.source_ref ~ '^[0-9]+$' THEN q.source_ref::bigint END
        WHERE q.tenant_id = $1 AND (q.task_id = $2 OR left(q.task_id, length($2) + 1) = $2 || '.')
        ORDER BY q.id DESC LIMIT 50`,
      [tenantId, taskId],
    ),
  ]);
  const fullText = new Map(chunks.rows.map((r) => [r.id, r.text]));
  const withText = evidence.map((e) => (e.type === 'document_chunk' && fullText.has(e.chunkId) ? { ...e, excerpt: fullText.get(e.chunkId)! } : e));
  const quarantined = held.rows.map(
    (r): QuarantinedItem => ({
      type: 'quarantined',
      source: r.source,
      ref: r.source_ref ?? '',
      ...(r.document_id ? { chunkId: r.source_ref!, documentId: r.document_id } : {}),
      excerpt: r.excerpt,
    }),
  );
  return [...quarantined.reverse(), ...withText];
}

/**
 * The ledger row of this write (tool and arguments hash) in the tasks this one was forked from,
 * nearest first. A fork's sub-task (`<fork>.agent`) looks in the same sub-task of each original.
 */
async function executedBeforeFork(db: Db, tenantId: string, taskId: string, tool: string, hash: string): Promise<LedgerRow | undefined> {
  const [root, ...rest] = taskId.split('.');
  const suffix = rest.length ? `.${rest.join('.')}` : '';
  const { rows } = await db.query<LedgerRow>(
    `WITH RECURSIVE originals(task_id, depth) AS (
       SELECT original_task_id, 1 FROM task_forks WHERE tenant_id = $1 AND fork_task_id = $2
       UNION ALL
       SELECT f.original_task_id, o.depth + 1 FROM task_forks f JOIN originals o ON f.fork_task_id = o.task_id
        WHERE f.tenant_id = $1 AND o.depth < 50)
     SELECT l.arguments_hash, l.status, l.result, l.executed_at, l.tool, l.arguments, l.tenant_id
       FROM action_ledger l JOIN originals o ON l.task_id = o.task_id || $3
      WHERE l.tenant_id = $1 AND l.tool = $4 AND l.arguments_hash = $5
      ORDER BY o.depth, l.executed_at LIMIT 1`,
    [tenantId, root, suffix, tool, hash],
  );
  return rows[0];
}

export function ledgerKey(taskId: string, approvalId: string): string {
  return `${taskId}:${approvalId}`;
}

interface LedgerRow {
  arguments_hash: string;
  status: string;
  result: unknown;
  executed_at: Date;
  tool: string;
  arguments: Record<string, unknown>;
  tenant_id: string;
}

async function ledgerEntry(db: Db | { query: Db['query'] }, key: string): Promise<LedgerRow | undefined> {
  const { rows } = await (db as Db).query<LedgerRow>(
    'SELECT arguments_hash, status, result, executed_at, tool, arguments, tenant_id FROM action_ledger WHERE idempotency_key = $1',
    [key],
  );
  return rows[0];
}

export interface ExecuteInput extends ActionRef {
  argumentsHash: string;
  approvedBy: string[];
}

export type ExecuteOutput =
  | { ok: true; result: unknown; summary: string; replayed: boolean; executedAt: string }
  | { ok: false; error: string };

/**
 * Run an approved action exactly once. Under a per-key advisory lock, in one transaction:
 * if the ledger has the key, return what it recorded; otherwise execute (the tool's own
 * writes join this transaction) and record the result. A crash before commit undoes both;
 * after commit, the retry finds the row.
 */
export async function executeAction(services: ToolServices, registry: ToolRegistry, input: ExecuteInput): Promise<ExecuteOutput> {
  const tool = registry.get(input.tool);
  if (!tool?.execute) throw ApplicationFailure.nonRetryable(`"${input.tool}" is not a write tool`, 'InvalidInput');
  if (argumentsHash(input.tool, input.arguments) !== input.argumentsHash) {
    throw ApplicationFailure.nonRetryable('arguments do not match the approved hash', 'ArgumentsHashMismatch');
  }
  const key = ledgerKey(input.taskId, input.approvalId);
  const outcome = await executeInLedger(services, tool, input, key);
  // What follows the commit (an email handed to SMTP) runs on replays too, until it succeeds.
  if (outcome.ok && tool.afterCommit) {
    await tool.afterCommit(outcome.result, { ...services, tenantId: input.tenantId, taskId: input.taskId, collection: input.collection });
  }
  return outcome;
}

async function executeInLedger(services: ToolServices, tool: ToolDefinition, input: ExecuteInput, key: string): Promise<ExecuteOutput> {
  return inTransaction(services.db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
    const recorded = await ledgerEntry(tx as unknown as Db, key);
    if (recorded) {
      if (recorded.arguments_hash !== input.argumentsHash) {
        throw ApplicationFailure.nonRetryable(`ledger entry ${key} records different arguments`, 'LedgerConflict');
      }
      const summary = (recorded.result as { summary?: string })?.summary ?? 'already executed';
      return { ok: true as const, result: (recorded.result as { content?: unknown }).content, summary, replayed: true, executedAt: recorded.executed_at.toISOString() };
    }
    const ctx = { ...services, tenantId: input.tenantId, taskId: input.taskId, collection: input.collection, tx, idempotencyKey: key };
    let output;
    try {
      output = await tool.execute!(tool.parameters.parse(input.arguments), ctx);
    } catch (err) {
      if (err instanceof InvalidToolArguments) return { ok: false as const, error: err.message };
      throw err;
    }
    const { rows } = await tx.query<{ executed_at: Date }>(
      `INSERT INTO action_ledger (idempotency_key, tenant_id, task_id, approval_id, tool, arguments, arguments_hash, status, result, approved_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'completed', $8, $9) RETURNING executed_at`,
      [key, input.tenantId, input.taskId, input.approvalId, input.tool, JSON.stringify(input.arguments), input.argumentsHash, JSON.stringify({ content: output.content, summary: output.summary }), input.approvedBy],
    );
    // What the tenant's reads returned may no longer be true: their cached results go with the commit.
    await evictToolResults(tx, input.tenantId);
    return { ok: true as const, result: output.content, summary: output.summary, replayed: false, executedAt: rows[0]!.executed_at.toISOString() };
  });
}

/** An operator's undo of a completed action, through its tool's declared compensation; once. */
export async function compensateAction(
  services: ToolServices,
  registry: ToolRegistry,
  input: { tenantId: string; taskId: string; approvalId: string },
): Promise<{ ok: true; result: unknown; summary: string; replayed: boolean } | { ok: false; error: string }> {
  const key = ledgerKey(input.taskId, input.approvalId);
  return inTransaction(services.db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
    const row = await ledgerEntry(tx as unknown as Db, key);
    if (!row || row.tenant_id !== input.tenantId) return { ok: false as const, error: `no executed action ${input.approvalId} in task ${input.taskId}` };
    if (row.status === 'compensated') {
      const { rows } = await tx.query<{ compensation: { content: unknown; summary: string } }>('SELECT compensation FROM action_ledger WHERE idempotency_key = $1', [key]);
      return { ok: true as const, result: rows[0]!.compensation.content, summary: rows[0]!.compensation.summary, replayed: true };
    }
    const tool = registry.get(row.tool);
    if (!tool?.compensation) return { ok: false as const, error: `${row.tool} declares no compensation` };
    const ctx = { ...services, tenantId: input.tenantId, taskId: input.taskId, collection: '', tx, idempotencyKey: `${key}:compensation` };
    const output = await tool.compensation.execute(tool.parameters.parse(row.arguments), (row.result as { content: unknown }).content, ctx);
    await tx.query(`UPDATE action_ledger SET status = 'compensated', compensation = $2, compensated_at = now() WHERE idempotency_key = $1`, [
      key,
      JSON.stringify({ content: output.content, summary: output.summary }),
    ]);
    await evictToolResults(tx, input.tenantId);
    return { ok: true as const, result: output.content, summary: output.summary, replayed: false };
  });
}
