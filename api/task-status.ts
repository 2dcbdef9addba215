// Temporal's execution statuses, as the API names them.
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import type { TaskStatus } from './contracts.js';

/** The task types the API starts, each a workflow (api/routes/tasks.ts) and a value of GatehouseTaskType. */
export const TASK_TYPES = ['answer', 'agent'] as const;

export function taskStatusOf(status: WorkflowExecutionStatusName): TaskStatus {
  switch (status) {
    case 'COMPLETED':
      return 'completed';
    case 'CANCELLED':
      return 'canceled';
    case 'FAILED':
    case 'TERMINATED':
    case 'TIMED_OUT':
      return 'failed';
    default:
      // RUNNING, and CONTINUED_AS_NEW (describe() without a run id follows to the newest run)
      return 'running';
  }
}

/** A running agent task waiting for a person says so (its phase is a search attribute). */
export function refineStatus(status: TaskStatus, phase: string | undefined): TaskStatus {
  if (status === 'running' && (phase === 'awaiting_approval' || phase === 'awaiting_input' || phase === 'needs_review')) return phase;
  return status;
}

/** Visibility-query clause for a status filter. */
export function executionStatusFilter(status: TaskStatus): string {
  switch (status) {
    case 'awaiting_approval':
      return `ExecutionStatus = 'Running' AND GatehouseTaskStatus = 'awaiting_approval'`;
    case 'awaiting_input':
      return `ExecutionStatus = 'Running' AND GatehouseTaskStatus = 'awaiting_input'`;
    case 'needs_review':
      return `ExecutionStatus = 'Running' AND GatehouseTaskStatus = 'needs_review'`;
    case 'running':
      return `ExecutionStatus = 'Running'`;
    case 'completed':
      return `ExecutionStatus = 'Completed'`;
    case 'canceled':
      return `ExecutionStatus = 'Canceled'`;
    case 'failed':
      return `ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')`;
  }
}

const BY_NUMBER: Record<number, WorkflowExecutionStatusName> = {
  1: 'RUNNING',
  2: 'COMPLETED',
  3: 'FAILED',
  4: 'CANCELLED',
  5: 'TERMINATED',
  6: 'CONTINUED_AS_NEW',
  7: 'TIMED_OUT',
};

export function statusName(n: number | null | undefined): WorkflowExecutionStatusName {
  return BY_NUMBER[n ?? 0] ?? 'UNSPECIFIED';
}
