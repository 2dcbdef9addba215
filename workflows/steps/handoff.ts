// The hand-off to a person, as a recorded step: the task waits in needs_review (the review
// desk) for a reviewer's decision, up to the policy's review timeout. Both hand-offs run it —
// the input guard's (the user asked for a person) and the failure ladder's.
import type { GuardrailPolicy } from '../../activities/guardrails/policy.js';
import type { OutputCheck } from '../../activities/guardrails/types.js';
import type { ReviewDecision, StepRecord } from '../messages.js';
import type { ReviewDesk } from './review-desk.js';

export interface HandOff {
  review: ReviewDesk;
  record(step: Omit<StepRecord, 'startedAt'>): void;
  policy: Pick<GuardrailPolicy, 'failure'>;
  reason: string;
  /** The question the reviewer answers (masked). */
  question?: string;
  /** The answer for the reviewer to approve as it is, if there is one. */
  candidate?: string;
  failures: OutputCheck[];
  /** Shortens the wait (a task's deadline); the review still shows the policy's expiry. */
  clampWait?: (ms: number) => number;
}

/** The reviewer's decision, or undefined if nobody decided in time. */
export async function handOffToReviewer(o: HandOff): Promise<ReviewDecision | undefined> {
  const timeoutMs = o.policy.failure.reviewTimeoutSeconds * 1000;
  const now = Date.now();
  const decision = await o.review.await(
    { reason: o.reason, question: o.question, candidate: o.candidate, failures: o.failures, requestedAt: new Date(now).toISOString(), expiresAt: new Date(now + timeoutMs).toISOString() },
    o.clampWait ? o.clampWait(timeoutMs) : timeoutMs,
  );
  o.record({ name: 'review', status: 'completed', detail: decision ? { decision: decision.decision, by: decision.reviewer.keyId } : { decision: 'expired' } });
  return decision;
}
