// The input guard as a recorded step, and what a task answers when the guard says no model
// may: answerQuestion and runAgent run the same step and give the same outcomes.
import type { Activities } from '../../activities/index.js';
import type { GuardrailOutcome } from '../messages.js';
import type { StepLog } from '../policy/steps.js';
import { summaries, withSummary } from '../policy/summaries.js';
import { handOffToReviewer } from './handoff.js';
import type { ReviewDesk } from './review-desk.js';

export type InputGuardArgs = Parameters<Activities['guardInput']>[0];
export type GuardedInput = Awaited<ReturnType<Activities['guardInput']>>;

/** What the shared steps need of a step log: answerQuestion's StepLog, runAgent's announced steps. */
export type Steps = Pick<StepLog, 'run' | 'record'>;

/** PII masked (or the text refused), injection, scope, anomaly and handoff triggers, the tenant's policy. */
export function guardInputStep(steps: Steps, activities: Pick<Activities, 'guardInput'>, args: InputGuardArgs): Promise<GuardedInput> {
  return steps.run(
    'input_guard',
    () => withSummary(activities.guardInput, summaries.guardInput(), args),
    (g) => ({ latencyMs: g.latencyMs, usage: g.usage, detail: { action: g.action, reason: g.reason, policyVersion: g.policy.version, checks: g.checks } }),
  );
}

/** An outcome no output check produced: a refusal, a reviewer's answer, the stock response. */
export function guardrailOutcome(policyVersion: number, verdict: GuardrailOutcome['verdict'], reason?: string): GuardrailOutcome {
  return { policyVersion, verdict, reason, remedies: [], failures: [], unsupported: [] };
}

export interface AnswerWithoutModel {
  answer: string;
  guardrails: GuardrailOutcome;
}

/**
 * A text the input guard did not let through to a model: a refusal gets the policy's stock
 * response, a handoff (the user asked for a person, or is frustrated) a reviewer's answer —
 * or the stock response when nobody answers in time.
 */
export async function answerWithoutModel(
  guard: GuardedInput,
  o: { review: ReviewDesk; steps: Steps; /** Shortens the reviewer's wait (a task's deadline). */ clampWait?: (ms: number) => number },
): Promise<AnswerWithoutModel> {
  const { policy, version } = guard.policy;
  if (guard.action === 'refuse') return { answer: guard.response!, guardrails: guardrailOutcome(version, 'refused', guard.reason) };
  const decision = await handOffToReviewer({ review: o.review, record: (s) => o.steps.record(s), policy, reason: `handoff: ${guard.reason}`, question: guard.text, failures: [], clampWait: o.clampWait });
  return {
    answer: decision?.answer?.trim() || policy.failure.stockResponse,
    guardrails: { ...guardrailOutcome(version, decision ? 'reviewed' : 'stock_response', guard.reason), remedies: ['handoff'] },
  };
}
