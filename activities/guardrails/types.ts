// The vocabulary shared by every guardrail check: PII classes and spans, verdicts, and the
// shape of a check's outcome as it appears in a task's steps. Pure types and constants:
// workflows import them too.
import { failureAction, outputCheck, type FailureAction, type OutputCheck } from '../../contracts/guardrails.js';

/** The PII classes Gatehouse detects. Placeholders are `[<CLASS>_<n>]`, e.g. `[PHONE_NUMBER_1]`. */
export const PII_CLASSES = [
  'EMAIL_ADDRESS',
  'PHONE_NUMBER',
  'CREDIT_CARD',
  'NATIONAL_ID',
  'IBAN',
  'IP_ADDRESS',
  'POSTAL_ADDRESS',
  'PERSON',
  'DATE_OF_BIRTH',
  'CREDENTIAL',
] as const;
export type PiiClass = (typeof PII_CLASSES)[number];

/** Our placeholders, `[EMAIL_ADDRESS_1]`: what masked text carries instead of the values. */
export const PLACEHOLDER_PATTERN = /\[([A-Z_]+)_(\d+)\]/g;

/** A detected "value" that is one of our own placeholders: already masked, not PII. */
export function isPlaceholder(text: string): boolean {
  return /^\[[A-Z_]+_\d+\]$/.test(text);
}

/** Placeholders blanked out (same length, so offsets and sentence boundaries stay): they are not claims. */
export function blankPlaceholders(text: string): string {
  return text.replace(PLACEHOLDER_PATTERN, (m) => ' '.repeat(m.length));
}

/** One detected value: its class, where it is, and which detector found it. */
export interface PiiSpan {
  type: PiiClass;
  /** UTF-16 offsets into the text, end exclusive. */
  start: number;
  end: number;
  text: string;
  /** e.g. 'libphonenumber-js', 'luhn', 'us_ssn', 'entropy'. */
  detector: string;
  /** A finer kind within the class, e.g. 'us_ssn' | 'uk_nino' for NATIONAL_ID, 'github_token' for CREDENTIAL. */
  subtype?: string;
  /** 0..1, how sure the detector is (1 for checksummed values). */
  score: number;
}

/** The failure actions and the output checks, as lists (declared in contracts/guardrails.ts: results report them). */
export const FAILURE_ACTIONS = failureAction.options;
export const OUTPUT_CHECKS = outputCheck.options;
export type { FailureAction, OutputCheck };

/** What a check concluded. `flag` lets the content through but records the finding. */
export type Verdict = 'pass' | 'flag' | 'fail';

export interface InjectionVerdict {
  flagged: boolean;
  /** 0..1; flagged when score ≥ the threshold. */
  score: number;
  /** Ids of the heuristics that fired, e.g. 'ignore_previous', 'role_override', 'exfiltrate'. */
  signals: string[];
}

export interface GroundingSentence {
  text: string;
  supported: boolean;
  /** 0..1, support by the best passage. */
  score: number;
  /** Index into the passages given, of the best-supporting one (-1 if none). */
  passage: number;
}

/** One guardrail decision as a task's steps and logs show it (matched text masked). */
export interface GuardCheck {
  check: string;
  verdict: Verdict;
  latencyMs: number;
  detail?: Record<string, unknown>;
}
