// A reviewer's decision on a handed-off answer is a preference: the answer's model against the
// reviewer (contracts/preferences.ts's REVIEWER_PLAYER) — approve a tie, edit a loss. The
// review route reads which model wrote the candidate before it sends the Update (the status
// query's steps), and records once the Update succeeded, from the task's result (the question,
// masked as the workflow holds it). Recording is a side line: it never fails or delays the review.
import type { WorkflowHandle } from '@temporalio/client';
import type { PreferenceRouter } from '../activities/router/preferences.js';
import { reviewPreference } from '../activities/router/preferences.js';
import { answerStatusQuery, type AnswerResult, type StepRecord } from '../workflows/messages.js';

/** The request's logger (Fastify's) or the process's (pino): both take an object and a message. */
type ReviewLog = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

/** How long the recording waits for the reviewed task to finish (it finishes right after the Update). */
const RESULT_WAIT_MS = 60_000;

/**
 * The steps of an answer task waiting for review (its status query); undefined for an agent task
 * — it hands off a whole run of tool calls, not one model's answer to one question — or when the
 * query fails.
 */
export async function answerSteps(handle: WorkflowHandle, taskType: string): Promise<StepRecord[] | undefined> {
  if (taskType !== 'answer') return undefined;
  const status = await handle.query(answerStatusQuery).catch(() => undefined);
  return status?.steps;
}

/**
 * The model of the answer waiting for review: the last generated answer's, or after a
 * best-of-n round, the picked sample's. Undefined when no model answered (an input-guard handoff).
 */
export function modelUnderReview(steps: StepRecord[]): string | undefined {
  let model: string | undefined;
  for (const step of steps) {
    if (/^generate(_\d+)?$/.test(step.name) && step.model) model = step.model;
    if (step.name === 'best_of_n' && typeof step.detail?.picked === 'number') {
      model = steps.find((s) => s.name === `sample_${(step.detail!.picked as number) + 1}`)?.model ?? model;
    }
  }
  return model && model !== 'none' ? model : undefined;
}

/** Record the review's preference in the background; failures are logged, never thrown. */
export function recordReviewPreference(
  router: PreferenceRouter | undefined,
  handle: WorkflowHandle,
  o: { tenantId: string; taskId: string; model: string | undefined; decision: 'approve' | 'edit'; reviewer: string; log: ReviewLog },
): Promise<void> {
  const { model, log } = o;
  if (!router || !model) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the task did not finish within ${RESULT_WAIT_MS / 1000} s`)), RESULT_WAIT_MS);
  });
  return Promise.race([handle.result() as Promise<AnswerResult>, timeout])
    .then(async (result) => {
      const query = result.question.standalone ?? result.question.original;
      await router.record(o.tenantId, { ...reviewPreference({ decision: o.decision, model, query, taskId: o.taskId }), createdBy: o.reviewer });
      log.info({ taskId: o.taskId, model, decision: o.decision }, 'review recorded as a preference');
    })
    .catch((err: unknown) => log.warn({ taskId: o.taskId, err: err instanceof Error ? err.message : String(err) }, 'could not record the review as a preference'))
    .finally(() => clearTimeout(timer));
}
