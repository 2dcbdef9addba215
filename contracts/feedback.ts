// Feedback on an answer: a score (1–5) or thumbs, from the end user (a caller with a person)
// or the calling backend (a key bound to no one). Stored normalised to [0, 1].
import { z } from 'zod';

export const feedbackSource = z.enum(['end_user', 'backend']);
export type FeedbackSource = z.infer<typeof feedbackSource>;

export const thumbs = z.enum(['up', 'down']);

/** What a feedback's score says, for counting: 4–5 or up positive, 1–2 or down negative, 3 neutral. */
export const feedbackVerdict = z.enum(['positive', 'neutral', 'negative']);
export type FeedbackVerdict = z.infer<typeof feedbackVerdict>;

/** A 1–5 score or thumbs as a number in [0, 1]: 1 → 0, 5 → 1, down → 0, up → 1. */
export function normalisedScore(rating: { score?: number; thumbs?: 'up' | 'down' }): number {
  if (rating.score !== undefined) return (rating.score - 1) / 4;
  return rating.thumbs === 'up' ? 1 : 0;
}

export function verdictOf(score: number): FeedbackVerdict {
  return score >= 0.75 ? 'positive' : score <= 0.25 ? 'negative' : 'neutral';
}
