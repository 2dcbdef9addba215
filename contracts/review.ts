// The review desk: an answer handed off to a person, and the reviewer's decision on it.
import { z } from 'zod';
import { approver } from './approvals.js';
import { outputCheck } from './guardrails.js';

/** An answer waiting for a reviewer (handoff). */
export const pendingReview = z.object({
  reason: z.string(),
  /** What the reviewer answers (masked, as the workflow holds it): the question, or the agent's task. */
  question: z.string().optional(),
  /** The answer that failed its checks (masked), if there is one. */
  candidate: z.string().optional(),
  failures: z.array(outputCheck),
  requestedAt: z.string(),
  expiresAt: z.string(),
});
export type PendingReview = z.infer<typeof pendingReview>;

/** The reviewAnswer Update's argument. */
export const reviewDecision = z.object({
  decision: z.enum(['approve', 'edit']),
  /** The answer to send instead (decision 'edit'). */
  answer: z.string().optional(),
  reason: z.string().optional(),
  reviewer: approver,
});
export type ReviewDecision = z.infer<typeof reviewDecision>;

export const reviewOutcome = z.object({ accepted: z.literal(true), answer: z.string() });
export type ReviewOutcome = z.infer<typeof reviewOutcome>;
