// Human handoff: a task waits in needs_review until a reviewer approves the candidate answer
// or sends an edited one through the `reviewAnswer` Update (API: POST /v1/tasks/:id/review).
// The validator refuses a decision when nothing waits for review, from another tenant, or
// without the reviews:write role — a refused Update never touches history.
import { ApplicationFailure, condition, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { UpdateRefusal, type UpdateRefusalCode } from '../../contracts/refusals.js';
import { TASK_STATUS_SEARCH_ATTRIBUTE } from '../../contracts/search-attributes.js';
import { reviewAnswerUpdate, type PendingReview, type ReviewDecision } from '../messages.js';

export interface ReviewDesk {
  /** The review waiting now, if any (for the status query). */
  pending(): PendingReview | undefined;
  /** Wait for a reviewer; undefined if nobody decided in time. */
  await(review: PendingReview, timeoutMs: number): Promise<ReviewDecision | undefined>;
}

export function openReviewDesk(tenantId: string, onChange: () => void): ReviewDesk {
  let waiting: PendingReview | undefined;
  let decided: ReviewDecision | undefined;

  setHandler(
    reviewAnswerUpdate,
    (d) => {
      decided = d;
      const answer = d.decision === 'edit' ? d.answer!.trim() : (waiting?.candidate ?? '');
      return { accepted: true as const, answer };
    },
    {
      validator: (d) => {
        const fail = (type: UpdateRefusalCode, message: string) => {
          throw ApplicationFailure.create({ type, message, nonRetryable: true });
        };
        if (!waiting || decided) fail(UpdateRefusal.NothingToReview, 'this task is not waiting for a review');
        if (d.reviewer.tenantId !== tenantId) fail(UpdateRefusal.ReviewForbidden, 'this task belongs to another tenant');
        if (!d.reviewer.roles.includes('admin') && !d.reviewer.roles.includes('reviews:write')) fail(UpdateRefusal.ReviewForbidden, 'reviewing needs the "reviews:write" role');
        if (d.decision !== 'approve' && d.decision !== 'edit') fail(UpdateRefusal.InvalidArguments, 'decision must be approve or edit');
        if (d.decision === 'edit' && (typeof d.answer !== 'string' || !d.answer.trim() || d.answer.length > 20_000)) {
          fail(UpdateRefusal.InvalidArguments, 'an edit needs an answer of 1 to 20,000 characters');
        }
        if (d.decision === 'approve' && !waiting?.candidate) fail(UpdateRefusal.InvalidArguments, 'there is no candidate answer to approve: send an edited answer');
      },
    },
  );

  // Listed as needs_review while it waits, if the starter indexed the task's status.
  const indexed = workflowInfo().typedSearchAttributes.getAll().some((p) => p.key.name === TASK_STATUS_SEARCH_ATTRIBUTE.name);
  const index = (status: string) => {
    if (indexed) upsertSearchAttributes([{ key: TASK_STATUS_SEARCH_ATTRIBUTE, value: status }]);
  };

  return {
    pending: () => waiting,
    async await(review, timeoutMs) {
      waiting = review;
      decided = undefined;
      onChange();
      index('needs_review');
      await condition(() => decided !== undefined, Math.max(1, timeoutMs));
      const d = decided;
      waiting = undefined;
      onChange();
      index('working');
      return d;
    },
  };
}
