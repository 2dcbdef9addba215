// The guardrails' vocabulary as a task's result reports it: which output checks failed, which
// remedies were tried, and the verdict on the answer that was sent.
import { z } from 'zod';
// The checks' names and remedies are declared once, with their ranking, in output-checks.ts.
import { FAILURE_ACTIONS, OUTPUT_CHECKS, type FailureAction, type OutputCheck } from './output-checks.js';

export type { FailureAction, OutputCheck };
export const outputCheck = z.enum(OUTPUT_CHECKS as [OutputCheck, ...OutputCheck[]]);
export const failureAction = z.enum(FAILURE_ACTIONS);

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
