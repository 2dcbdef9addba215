// Settling an answer that failed its output checks, the same way for answerQuestion and
// runAgent: walk the failing check's ladder (workflows/policy/output-failures.ts) — retry with
// the failure fed back, best-of-n, the fallback model, a human reviewer (handoff.ts), the
// stock response — until an answer passes or the ladder ends. Every remedy is a recorded step.
import type { GuardrailPolicy } from '../../activities/guardrails/policy.js';
import type { FailureAction, OutputCheck } from '../../contracts/output-checks.js';
import type { GuardrailOutcome, StepRecord } from '../messages.js';
import { nextRemedy, pickBest } from '../policy/output-failures.js';
import { handOffToReviewer } from './handoff.js';
import type { ReviewDesk } from './review-desk.js';

export interface Candidate {
  model: string;
  meanLogprob?: number;
}

export interface Checked {
  passed: boolean;
  failures: OutputCheck[];
  forceHandoff: boolean;
  /** The answer as it may be shown (PII masked). */
  text: string;
  score: number;
  feedback: string;
  unsupported: string[];
}

export interface SettleOptions<C extends Candidate> {
  policy: GuardrailPolicy;
  first: C;
  firstChecked: Checked;
  check(c: C): Promise<Checked>;
  /** Ask again: with the failure fed back, possibly another model. */
  regenerate(o: { feedback: string; model?: string; attempt: number }): Promise<C>;
  /** n candidates at once (best-of-n); without it best-of-n is skipped. */
  sample?(n: number, feedback: string): Promise<C[]>;
  review: ReviewDesk;
  /** The question answered (masked), shown to a reviewer if the ladder hands the answer off. */
  question?: string;
  record(step: Omit<StepRecord, 'startedAt'>): void;
}

export interface Settled<C> {
  text: string;
  candidate?: C;
  outcome: Omit<GuardrailOutcome, 'policyVersion'>;
}

export async function settleAnswer<C extends Candidate>(o: SettleOptions<C>): Promise<Settled<C>> {
  let candidate = o.first;
  let checked = o.firstChecked;
  const remedies: FailureAction[] = [];
  const failures = new Set<OutputCheck>(checked.failures);
  let retries = 0;
  let attempt = 1;
  const outcome = (verdict: GuardrailOutcome['verdict'], reason?: string) => ({
    verdict,
    reason,
    remedies,
    failures: [...failures],
    unsupported: checked.unsupported,
  });
  if (checked.passed) {
    return { text: checked.text, candidate, outcome: outcome(checked.unsupported.length ? 'flagged' : 'passed') };
  }

  for (;;) {
    const remedy = nextRemedy(checked.failures, checked.forceHandoff, o.policy, { retries, tried: remedies });
    remedies.push(remedy);
    o.record({ name: 'output_policy', status: 'completed', detail: { failures: checked.failures, remedy } });
    switch (remedy) {
      case 'retry':
      case 'fallback_model': {
        if (remedy === 'retry') retries += 1;
        attempt += 1;
        candidate = await o.regenerate({ feedback: checked.feedback, model: remedy === 'fallback_model' ? o.policy.failure.fallbackModel : undefined, attempt });
        checked = await o.check(candidate);
        break;
      }
      case 'best_of_n': {
        if (!o.sample) {
          checked = { ...checked }; // nothing to sample with: the ladder moves on
          break;
        }
        const candidates = await o.sample(o.policy.failure.bestOfN, checked.feedback);
        const results = await Promise.all(candidates.map((c) => o.check(c)));
        const best = pickBest(
          results.map((r, i) => ({ failures: r.failures, score: r.score, meanLogprob: candidates[i]!.meanLogprob })),
          o.policy.failure.pickBy,
        );
        o.record({ name: 'best_of_n', status: 'completed', detail: { n: candidates.length, picked: best, failures: results.map((r) => r.failures.length), scores: results.map((r) => r.score) } });
        candidate = candidates[best]!;
        checked = results[best]!;
        break;
      }
      case 'handoff': {
        const decision = await handOffToReviewer({
          review: o.review,
          record: (s) => o.record(s),
          policy: o.policy,
          question: o.question,
          reason: checked.forceHandoff ? 'brand terms need a review' : `output checks failed: ${checked.failures.join(', ')}`,
          candidate: checked.text || undefined,
          failures: checked.failures,
        });
        if (!decision) {
          return { text: o.policy.failure.stockResponse, outcome: outcome('stock_response', 'no reviewer decided in time') };
        }
        const text = decision.decision === 'edit' ? decision.answer!.trim() : checked.text;
        return { text, candidate: decision.decision === 'approve' ? candidate : undefined, outcome: outcome('reviewed', decision.reason) };
      }
      case 'stock_response':
        return { text: o.policy.failure.stockResponse, outcome: outcome('stock_response', `output checks failed: ${checked.failures.join(', ')}`) };
      case 'flag':
        return { text: checked.text, candidate, outcome: outcome('flagged', `let through with: ${checked.failures.join(', ')}`) };
    }
    for (const f of checked.failures) failures.add(f);
    if (checked.passed) return { text: checked.text, candidate, outcome: outcome('remedied') };
  }
}
