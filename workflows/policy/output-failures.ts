// What to do when an answer fails its output checks: walk the failing check's ladder from
// the tenant's policy (retry → best-of-n → fallback model → handoff → stock response), skipping
// steps that are spent or unavailable. Pure and deterministic: the workflow calls it.
import type { GuardrailPolicy } from '../../activities/guardrails/policy.js';
import type { FailureAction, OutputCheck } from '../../contracts/guardrails.js';

/** How serious each failure is (0 = most): the worst failing check's ladder decides. Every check must be ranked. */
const SEVERITY = { pii_leak: 0, toxicity: 1, brand: 2, malformed: 3, empty: 4, grounding: 5, judge: 6 } satisfies Record<OutputCheck, number>;

export interface RemedyState {
  retries: number;
  /** Remedies already used for this answer (best-of-n, the fallback model and handoff run once). */
  tried: FailureAction[];
}

/** The most serious failing check: its ladder decides. */
export function worstFailure(failures: OutputCheck[]): OutputCheck | undefined {
  return [...failures].sort((a, b) => SEVERITY[a] - SEVERITY[b])[0];
}

export function nextRemedy(
  failures: OutputCheck[],
  forceHandoff: boolean,
  policy: Pick<GuardrailPolicy, 'output' | 'failure'>,
  state: RemedyState,
): FailureAction {
  if (forceHandoff && !state.tried.includes('handoff')) return 'handoff';
  const worst = worstFailure(failures);
  if (!worst) return 'flag';
  for (const action of policy.output.onFail[worst]) {
    if (action === 'retry') {
      if (state.retries < policy.failure.maxRetries) return 'retry';
      continue;
    }
    if (action === 'fallback_model' && !policy.failure.fallbackModel) continue;
    if ((action === 'best_of_n' || action === 'fallback_model' || action === 'handoff') && state.tried.includes(action)) continue;
    return action;
  }
  return 'stock_response';
}

/**
 * Best-of-n: fewest failed checks first; among equals, the judge's score (pickBy 'judge'),
 * the mean log-probability (pickBy 'logprob', when the provider reports it), or the checks' score.
 */
export function pickBest<T extends { failures: OutputCheck[]; score: number; meanLogprob?: number }>(candidates: T[], pickBy: 'checks' | 'judge' | 'logprob'): number {
  let best = 0;
  const key = (c: T) => (pickBy === 'logprob' && c.meanLogprob !== undefined ? c.meanLogprob : c.score);
  for (let i = 1; i < candidates.length; i++) {
    const a = candidates[i]!;
    const b = candidates[best]!;
    if (a.failures.length < b.failures.length || (a.failures.length === b.failures.length && key(a) > key(b))) best = i;
  }
  return best;
}
