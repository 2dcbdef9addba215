// Approval policies: whether a proposed action waits for a human, how many, and with which
// role. A tenant's row in approval_policies wins; otherwise the tool's own risk decides (a
// write asks one approver unless its tool declares more, e.g. issue_refund over $500 asks
// two), and tools that do not write never ask. Above both sits one rule no tenant policy can
// turn off: untrusted text cannot authorise a write.
import { z } from 'zod';
import type { Db } from '../../infra/db/pool.js';
import { APPROVER_ROLE, toolRisk } from '../tools/risk.js';
import type { ToolDefinition } from '../tools/types.js';
import { describeSource, untrustedAuthorising, type ArgumentProvenance } from './provenance.js';

export interface ResolvedPolicy {
  /** 'auto': approved by policy (recorded as such in the ledger); 'ask': a human decides. */
  mode: 'auto' | 'ask';
  approvalsNeeded: number;
  requiredRole: string;
  /** Why, in words, for the approver and the ledger. */
  rule: string;
  /** The arguments that came from untrusted text, when that is why a person must approve. */
  untrustedArguments?: string[];
}

export async function resolvePolicy(db: Db, tenantId: string, tool: ToolDefinition, args: Record<string, unknown>, provenance: ArgumentProvenance[]): Promise<ResolvedPolicy> {
  return requireHumanForUntrusted(await tenantOrDefaultPolicy(db, tenantId, tool, args), provenance, (argument) => argumentLabel(tool, argument));
}

/** "recipient address (to)": the parameter's own description when it is short, else its name. */
function argumentLabel(tool: ToolDefinition, argument: string): string {
  const shape = tool.parameters instanceof z.ZodObject ? (tool.parameters.shape as Record<string, z.ZodType>) : {};
  const description = shape[argument]?.description;
  return description && description.length <= 40 ? `${description.charAt(0).toLowerCase()}${description.slice(1)} (${argument})` : argument;
}

/**
 * A recipient, an amount or a record id that came only from untrusted text (a retrieved
 * chunk, a web page, a tool's output) — or from no source we can see — is what a prompt
 * injection looks like from here: the action waits for a person whatever the tenant's policy
 * says (`never`, a threshold), and the rule names the arguments and where they came from.
 */
export function requireHumanForUntrusted(policy: ResolvedPolicy, provenance: ArgumentProvenance[], label = (argument: string) => argument): ResolvedPolicy {
  const untrusted = untrustedAuthorising(provenance);
  if (untrusted.length === 0) return policy;
  // Values merely unaccounted for change nothing where a person looks anyway (their provenance shows it).
  if (policy.mode === 'ask' && untrusted.every((p) => p.type === 'model')) return policy;
  const names = [...new Set(untrusted.map((p) => p.argument))];
  const sources = [...new Set(untrusted.map(describeSource))];
  const origin = untrusted.every((p) => p.type === 'model') ? "did not come from the user's message or data" : 'came from untrusted text';
  const rule = `${names.map(label).join(', ')} ${origin} (${sources.join('; ')}): a person must approve, whatever the tenant policy`;
  return {
    mode: 'ask',
    approvalsNeeded: Math.max(1, policy.approvalsNeeded),
    requiredRole: policy.requiredRole,
    rule: policy.mode === 'ask' ? `${rule} (and ${policy.rule})` : rule,
    untrustedArguments: names,
  };
}

async function tenantOrDefaultPolicy(db: Db, tenantId: string, tool: ToolDefinition, args: Record<string, unknown>): Promise<ResolvedPolicy> {
  const { rows } = await db.query<{ mode: string; threshold_field: string | null; threshold: string | null; approvals_needed: number; required_role: string }>(
    'SELECT mode, threshold_field, threshold, approvals_needed, required_role FROM approval_policies WHERE tenant_id = $1 AND tool = $2',
    [tenantId, tool.name],
  );
  const row = rows[0];
  if (row) {
    const base = { approvalsNeeded: row.approvals_needed, requiredRole: row.required_role };
    if (row.mode === 'never') return { ...base, mode: 'auto', rule: `tenant policy: ${tool.name} never needs approval` };
    if (row.mode === 'threshold') {
      const value = Number(args[row.threshold_field!]);
      const over = !Number.isFinite(value) || value > Number(row.threshold);
      return over
        ? { ...base, mode: 'ask', rule: `tenant policy: ${row.threshold_field} over ${row.threshold} needs approval` }
        : { ...base, mode: 'auto', rule: `tenant policy: ${row.threshold_field} ${value} is within ${row.threshold}` };
    }
    return { ...base, mode: 'ask', rule: `tenant policy: ${tool.name} always needs approval` };
  }
  return defaultPolicy(tool, args);
}

/** Without a tenant row: the tool's own risk. Reads and questions to the user change nothing, so they never ask. */
export function defaultPolicy(tool: ToolDefinition, args: Record<string, unknown>): ResolvedPolicy {
  if (tool.kind !== 'write') return { mode: 'auto', approvalsNeeded: 0, requiredRole: APPROVER_ROLE, rule: 'read-only tools never ask' };
  const risk = toolRisk(tool, args);
  return { mode: 'ask', approvalsNeeded: risk.approvers, requiredRole: risk.role, rule: risk.reason };
}
