// End users' feedback by prompt version (POST /v1/tasks/{id}/feedback, activities/feedback/): not a
// labeled set this repo holds but the one a deployment collects, so the suite reads a deployment's
// database — GATEHOUSE_EVAL_DATABASE_URL, the tenant GATEHOUSE_EVAL_TENANT — and is skipped
// without them (never in the CI subset: a fresh machine has no users). Each prompt version with
// enough ratings is a metric, its mean score, held to the `feedback` tolerance against the last
// recorded run; a version with fewer ratings is listed in the details only, where its mean is noise.
import { feedbackByPromptVersion } from '../../activities/feedback/feedback.js';
import { createPool } from '../../infra/db/pool.js';
import { metric, type Suite } from '../suite.js';

const NAME = 'feedback';
/** Below this many ratings a version's mean moves by more than the tolerance on its own. */
export const MIN_RATINGS = 30;

export const feedback: Suite = {
  name: NAME,
  title: "a deployment's end-user feedback by prompt version: mean score per version with enough ratings",
  ci: false,
  requires: ['GATEHOUSE_EVAL_DATABASE_URL', 'GATEHOUSE_EVAL_TENANT'],
  async run(ctx) {
    const db = createPool(process.env.GATEHOUSE_EVAL_DATABASE_URL!, 2);
    try {
      const groups = await feedbackByPromptVersion(db, process.env.GATEHOUSE_EVAL_TENANT!);
      const rated = groups.filter((g) => g.label && g.count >= MIN_RATINGS);
      for (const g of groups) ctx.log(`feedback: ${g.label ?? '(no prompt recorded)'}: ${g.count} ratings, mean ${g.meanScore}, ${g.positive} up / ${g.negative} down`);
      return {
        metrics: rated.map((g) => metric(NAME, `${g.label}.mean_score`, g.meanScore, 'higher', 'feedback')),
        details: { minRatings: MIN_RATINGS, groups },
      };
    } finally {
      await db.end();
    }
  },
};
