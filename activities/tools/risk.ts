// How much a write call risks, as its tool declares it: the approval policy's default when the
// tenant has no row for the tool. A tool that declares nothing asks one approver.
import type { ToolDefinition, ToolRisk } from './types.js';

export const APPROVER_ROLE = 'approvals:write';

/** Every write asks a person unless its tool says more. */
export const ONE_APPROVER: ToolRisk = { approvers: 1, role: APPROVER_ROLE, reason: 'write actions always need approval' };

/** High-risk actions (a large refund): a second person confirms the first. */
export const TWO_APPROVERS: ToolRisk = { approvers: 2, role: APPROVER_ROLE, reason: 'high-risk action: two approvers' };

/** The tool's risk for these arguments: whole approvers, at least one, and the role they need. */
export function toolRisk(tool: ToolDefinition, args: Record<string, unknown>): Required<ToolRisk> {
  const declared = tool.risk?.(args) ?? ONE_APPROVER;
  // A tool cannot waive its own approval: a write runs unasked only by the tenant's policy.
  const approvers = Number.isFinite(declared.approvers) ? Math.max(1, Math.ceil(declared.approvers)) : 1;
  return { approvers, role: declared.role ?? APPROVER_ROLE, reason: declared.reason };
}
