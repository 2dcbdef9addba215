// Routing learned from preferences: a pairwise judgement of two models' answers to a query,
// and where it came from. Declared once here; the API adds its request limits
// (api/contracts.ts), activities/router/preferences.ts stores and fits them.
import { z } from 'zod';

/**
 * review: a reviewer approved or edited a handed-off answer; ab: a user's A/B choice; judge: a
 * judge model's verdict; feedback: an end user's or backend's rating of an answer (POST
 * /v1/tasks/{id}/feedback), against the reviewer reference player as a review is.
 */
export const preferenceSource = z.enum(['review', 'ab', 'judge', 'feedback']);
export type PreferenceSource = z.infer<typeof preferenceSource>;

/**
 * The reference player a reviewed answer is compared with: an approval is a tie with the
 * reviewer (the answer was as good as what they would have sent), an edit a win for them.
 * Through it, models that were only ever reviewed are still ranked against each other.
 */
export const REVIEWER_PLAYER = 'human';

export const preference = z.object({
  query: z.string(),
  /** The better answer's model (either one, for a tie). */
  winner: z.string(),
  loser: z.string(),
  tie: z.boolean().optional(),
  source: preferenceSource,
  taskId: z.string().optional(),
  /** How much this judgement counts (default 1). */
  weight: z.number().positive().optional(),
});
export type Preference = z.infer<typeof preference>;
