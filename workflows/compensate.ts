// compensateExecutedAction: an operator's undo of an executed write action, as a workflow of
// its own so it is durable, visible in the Temporal UI and (by its id) started once per action.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { summaries, withSummary } from './policy/summaries.js';

const actions = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

export async function compensateExecutedAction(input: { tenantId: string; taskId: string; approvalId: string }) {
  return withSummary(actions.compensateAction, summaries.compensate(input.approvalId), input);
}
