// The output checks, one module each. guardOutput runs this list on every answer and the
// guarded stream runs the same list's sentence checks on every streamed sentence, so the two
// cannot disagree; the tenant policy's `output.<name>` sections come from it too. Adding a
// check: its module, an entry here, and its row in contracts/output-checks.ts (its rank and
// default ladder, which the workflow reads).
import type { z } from 'zod';
import { OUTPUT_CHECK_SEVERITY, type OutputCheck } from '../../../contracts/output-checks.js';
import { brand } from './brand.js';
import { empty } from './empty.js';
import { grounding } from './grounding.js';
import { judge } from './judge.js';
import { malformed } from './malformed.js';
import { piiLeak } from './pii-leak.js';
import { toxicity } from './toxicity.js';
import type { OutputCheckUnit, SentenceCheck, SentenceContext } from './types.js';

/** In the order guardOutput runs them: cheap first, the judge last (a model call, for an answer that passed the rest). */
export const OUTPUT_CHECK_UNITS = [empty, malformed, piiLeak, brand, toxicity, grounding, judge] as const;

// Every check the workflow ranks has a unit here: a missing one is a compile error naming it.
type Unlisted = Exclude<OutputCheck, (typeof OUTPUT_CHECK_UNITS)[number]['name']>;
const _everyCheckListed: [Unlisted] extends [never] ? true : Unlisted = true;

// Iterated as any check: each reads its own section of the policy, through settingsOf.
const UNITS: readonly OutputCheckUnit[] = OUTPUT_CHECK_UNITS;

/** Each check's section of the policy's `output` (its schema), by check name. */
export type OutputCheckPolicies = {
  [U in (typeof OUTPUT_CHECK_UNITS)[number] as [NonNullable<U['policy']>] extends [never] ? never : U['name']]: NonNullable<U['policy']>;
};

/** The checks' sections of the policy's `output`, in list order (the policy document's key order). */
export const OUTPUT_CHECK_POLICIES = Object.fromEntries(UNITS.flatMap((u) => (u.policy ? [[u.name, u.policy]] : []))) as OutputCheckPolicies;

/** The parsed `output` sections the checks read. */
export type OutputCheckSettings = z.output<z.ZodObject<OutputCheckPolicies>>;

/** A check's settings: its own section of the policy's `output`, if it has one. */
export function settingsOf(unit: OutputCheckUnit, output: OutputCheckSettings): unknown {
  return unit.policy ? (output as Record<string, unknown>)[unit.name] : undefined;
}

/** The matchers the checks compile from their settings, each run once over `text` (the policy's cost probe). */
export function outputMatcherProbes(output: OutputCheckSettings, text: string): Array<{ check: OutputCheck; run: () => void }> {
  return UNITS.flatMap((u) => (u.probeMatchers ? [{ check: u.name, run: () => u.probeMatchers!(settingsOf(u, output), text) }] : []));
}

/**
 * The checks one streamed sentence goes through, prepared for one answer, most serious first:
 * the stream holds a sentence back under the name of the first that fails.
 */
export function sentenceChecks(output: OutputCheckSettings, context: SentenceContext): Array<{ name: OutputCheck; fails: SentenceCheck }> {
  return [...UNITS]
    .sort((a, b) => OUTPUT_CHECK_SEVERITY[a.name] - OUTPUT_CHECK_SEVERITY[b.name])
    .flatMap((u) => {
      const fails = u.sentenceCheck?.(settingsOf(u, output), context);
      return fails ? [{ name: u.name, fails }] : [];
    });
}
