// Helpers for agent-task tests: input with defaults, waiting on the status query, deciding.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { runAgent } from '../../workflows/agent/index.js';
import {
  agentStatusQuery,
  decideApprovalUpdate,
  type AgentOptions,
  type AgentStatus,
  type AgentTaskInput,
  type ApprovalDecision,
  type Approver,
  type PendingApproval,
} from '../../workflows/messages.js';
import { taskSearchAttributes } from '../../contracts/search-attributes.js';
import { uniqueId } from './harness-config.js';

export const ADMIN = (tenantId: string): Approver => ({ keyId: 'admin-key', tenantId, roles: ['admin'] });

export function agentInput(tenantId: string, input: string, options: Partial<AgentOptions> = {}, extra: Partial<AgentTaskInput> = {}): AgentTaskInput {
  return {
    tenantId,
    collection: 'kb',
    input,
    conversation: [],
    options: {
      mode: 'loop',
      budgets: { maxSteps: 20, maxTokens: 1_000_000, maxCostUsd: 10, maxToolCalls: 40, maxWallSeconds: 600 },
      approvalTimeoutSeconds: 3600,
      onApprovalExpiry: 'reject',
      keepOpenSeconds: 0,
      maxMalformedToolCalls: 2,
      ...options,
    },
    ...extra,
  };
}

/** Start runAgent as the API does (indexed for search), or unindexed for a server without Gatehouse's search attributes. */
export async function startAgent(client: Client, taskQueue: string, input: AgentTaskInput, opts: { indexed?: boolean } = {}): Promise<WorkflowHandle<typeof runAgent>> {
  const typedSearchAttributes = opts.indexed === false ? [] : taskSearchAttributes(input.tenantId, 'agent');
  return client.workflow.start<typeof runAgent>('runAgent', { taskQueue, workflowId: uniqueId('agent'), args: [input], typedSearchAttributes });
}

/** Poll the status query until `until` holds (or fail after `timeoutMs`). */
export async function waitForStatus(handle: WorkflowHandle, until: (s: AgentStatus) => boolean, timeoutMs = 30_000): Promise<AgentStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: AgentStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await handle.query(agentStatusQuery);
      if (until(last)) return last;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`status condition not met in ${timeoutMs} ms; last: ${JSON.stringify(last)?.slice(0, 2000)}`);
}

export async function waitForPending(handle: WorkflowHandle, count: number, timeoutMs?: number): Promise<PendingApproval[]> {
  const s = await waitForStatus(handle, (x) => x.pendingApprovals.length >= count, timeoutMs);
  return s.pendingApprovals;
}

export function decide(handle: WorkflowHandle, approval: PendingApproval, decision: Partial<ApprovalDecision> & { approver: Approver }) {
  return handle.executeUpdate(decideApprovalUpdate, {
    args: [{ approvalId: approval.approvalId, decision: 'approve', argumentsHash: approval.argumentsHash, ...decision }],
  });
}
