// The guardrails' vocabulary as a task's result reports it: which output checks failed, which
// remedies were tried, and the verdict on the answer that was sent.
import { z } from 'zod';

/** The output checks (workflows/policy/output-failures.ts ranks how serious each failure is). */
export const outputCheck = z.enum(['pii_leak', 'toxicity', 'brand', 'malformed', 'empty', 'grounding', 'judge']);
export type OutputCheck = z.infer<typeof outputCheck>;

/**
 * What happens when an output check fails, tried in order until one yields an answer that
 * passes: `retry` asks again with the failure fed back, `best_of_n` asks n times at once and
 * keeps the best, `fallback_model` asks the policy's fallback model, `handoff` waits for a
 * reviewer, `stock_response` answers with the configured text, `flag` lets the answer through
 * marked as such.
 */
export const failureAction = z.enum(['retry', 'best_of_n', 'fallback_model', 'handoff', 'stock_response', 'flag']);
export type FailureAction = z.infer<typeof failureAction>;

/**
 * passed: every check passed; flagged: let through with findings (e.g. unsupported sentences);
 * refused: the input was refused (stock response, no model call); remedied: a failure policy
 * produced an answer that passed; reviewed: a human approved or edited it; stock_response:
 * the failure policy gave up with the stock response.
 */
export const guardrailVerdict = z.enum(['passed', 'flagged', 'refused', 'remedied', 'reviewed', 'stock_response']);
export type GuardrailVerdict = z.infer<typeof guardrailVerdict>;

/** What the guardrails decided about a task's answer. */
export const guardrailOutcome = z.object({
  policyVersion: z.number().int(),
  verdict: guardrailVerdict,
  reason: z.string().optional(),
  /** The failure policies applied, in order. */
  remedies: z.array(failureAction),
  /** Checks that failed on the way (the final answer passed them, or was flagged, reviewed or refused). */
  failures: z.array(outputCheck),
  /** Answer sentences the retrieved context does not support. */
  unsupported: z.array(z.string()),
});
export type GuardrailOutcome = z.infer<typeof guardrailOutcome>;
