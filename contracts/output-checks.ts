// What a workflow must know about the output checks, in a module its sandbox may import: how
// serious each check's failure is, and the ladder of remedies a tenant's policy starts from.
// The checks themselves run in activities (activities/guardrails/checks/, one module each,
// listed in checks/index.ts); the compiler holds that list and this one to the same names.
// Pure data: no Node built-ins, nothing from activities/.

/**
 * What happens when an output check fails, tried in order until one yields an answer that
 * passes: `retry` asks again with the failure fed back, `best_of_n` asks n times at once and
 * keeps the best, `fallback_model` asks the policy's fallback model, `handoff` waits for a
 * reviewer, `stock_response` answers with the configured text, `flag` lets the answer through
 * marked as such.
 */
export const FAILURE_ACTIONS = ['retry', 'best_of_n', 'fallback_model', 'handoff', 'stock_response', 'flag'] as const;
export type FailureAction = (typeof FAILURE_ACTIONS)[number];

/**
 * Every output check, most serious first: when an answer fails several, the first one's ladder
 * decides (workflows/policy/output-failures.ts), and the guarded stream names it when it holds
 * a sentence back. `onFail` is the default ladder, what `output.onFail.<name>` is unless a
 * tenant's policy says otherwise.
 */
export const OUTPUT_CHECK_RANKING = [
  { name: 'pii_leak', onFail: ['retry', 'stock_response'] },
  { name: 'toxicity', onFail: ['retry', 'stock_response'] },
  { name: 'brand', onFail: ['retry', 'handoff'] },
  { name: 'malformed', onFail: ['retry', 'fallback_model', 'stock_response'] },
  { name: 'empty', onFail: ['retry', 'fallback_model', 'stock_response'] },
  { name: 'grounding', onFail: ['retry', 'flag'] },
  { name: 'judge', onFail: ['best_of_n', 'handoff'] },
] as const satisfies ReadonlyArray<{ name: string; onFail: readonly [FailureAction, ...FailureAction[]] }>;

export type OutputCheck = (typeof OUTPUT_CHECK_RANKING)[number]['name'];

/** The checks' names, most serious first. */
export const OUTPUT_CHECKS: readonly OutputCheck[] = OUTPUT_CHECK_RANKING.map((c) => c.name);

/** How serious each check's failure is: 0 is the most serious. */
export const OUTPUT_CHECK_SEVERITY = Object.fromEntries(OUTPUT_CHECK_RANKING.map((c, i) => [c.name, i])) as Record<OutputCheck, number>;
