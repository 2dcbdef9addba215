// The agent's activities as the workflow calls them: each group with the timeouts and retries
// its kind of work needs.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';

/** Model calls: the gateway may walk a fallback chain; bad input and refusals are final. */
export const models = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidInput', 'ContextTooLarge', 'ModelRejected', 'UnknownModel'] },
});

/** Read tools. */
export const tools = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '20 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidInput'] },
});

// An approved action must not be lost: it is retried for as long as it fails transiently
// (the ledger makes every retry safe), and a dead worker is noticed by its heartbeat.
export const actions = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 30, nonRetryableErrorTypes: ['InvalidInput', 'ArgumentsHashMismatch', 'LedgerConflict'] },
});

// Bookkeeping (the approvals index, the tool list) as regular activities, not local ones: an
// Update handler awaits them, and local-activity markers interleaved with Update events
// replayed in a different order than they ran (caught by the replay test).
export const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumAttempts: 10 },
});
