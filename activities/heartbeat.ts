// Heartbeats tell Temporal an activity is alive, and are how cancellation reaches it.
import { Context } from '@temporalio/activity';

/**
 * Run a long call (a model request) heartbeating every few seconds, so Temporal notices a
 * dead worker within the heartbeat timeout and can deliver cancellation, which aborts the call.
 */
export async function heartbeating<T>(fn: (signal?: AbortSignal) => Promise<T>): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return fn(); // a direct call outside an activity
  }
  const timer = setInterval(() => context.heartbeat(), 2_000);
  try {
    return await fn(context.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

/** Report progress (an ingestion's batch position) to Temporal. */
export function heartbeat(detail: unknown): void {
  try {
    Context.current().heartbeat(detail);
  } catch {
    // called outside an activity (a direct call in a benchmark or test): nothing to report to
  }
}
