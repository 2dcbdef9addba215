// The key a model call's reservation is stored under, so reserving or settling it twice counts
// once. Inside an activity: the run, the activity, the attempt and the call's place within the
// attempt — a retry is a new attempt (a real new call, counted), a replay runs no activity at
// all, and a reset run has a new run id. Outside one (the API, a test): the caller's request id.
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';

export interface AttemptKey {
  id: string;
  /** The activity (run / activity id) whose earlier attempts' reservations a later attempt releases. */
  activityKey?: string;
  attempt?: number;
}

/** Calls made so far by each activity attempt: its context object lives exactly as long as the attempt. */
const callsInAttempt = new WeakMap<Context, number>();

export function attemptKey(requestId?: string): AttemptKey {
  const context = currentActivity();
  if (!context) return { id: requestId ?? `req_${randomUUID()}` };
  const index = callsInAttempt.get(context) ?? 0;
  callsInAttempt.set(context, index + 1);
  const { workflowExecution, activityId, attempt } = context.info;
  const activityKey = `${workflowExecution?.workflowId ?? '-'}/${workflowExecution?.runId ?? '-'}/${activityId}`;
  return { id: `${activityKey}/${attempt}/${index}`, activityKey, attempt };
}

function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
