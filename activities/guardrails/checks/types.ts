// What an output check declares, and what it is given. A check judges a whole answer for
// guardOutput and, if it can judge a sentence on its own, each sentence of a streamed answer
// for the guarded stream — by the same rule, so the stream never releases a sentence that
// fails the answer afterwards.
import type { z } from 'zod';
import type { OutputCheck } from '../../../contracts/output-checks.js';
import type { ClassifierCalls } from '../classifier.js';
import type { GuardCheck, PiiClass, PiiSpan } from '../types.js';

/** What the policy's `pii.output` says to do with each class found in an answer. */
export type OutputPiiActions = Record<PiiClass, 'block' | 'mask' | 'allow'>;

/** An answer as each check sees it. */
export interface AnswerUnderCheck {
  /** The answer as written, trimmed. */
  answer: string;
  /** The answer with masked PII replaced by placeholders: what a model (scorer, judge) may read. */
  shown: string;
  question: string;
  /** The context the answer was written from. */
  passages: string[];
  /** Cited answers ([n] markers) are held to the citation contract; agent answers are free text. */
  format: 'cited' | 'text';
  /** The answer says nothing was found: there is nothing to ground. */
  notFound: boolean;
  /** 'report' flags unsupported sentences without failing the answer (agents). */
  grounding: 'enforce' | 'report';
  pii: OutputPiiActions;
  /** The checks that failed before this one ran. */
  failedSoFar: readonly OutputCheck[];
}

/** What a check may call on besides the answer: model classifiers, the task's vault. */
export interface CheckTools {
  classifiers: ClassifierCalls;
  /** The text with these spans replaced by the task's placeholders. */
  mask(text: string, spans: PiiSpan[]): Promise<string>;
}

/** What a check concluded about an answer. */
export interface AnswerFinding {
  /** Its rows in the task's steps: one, or two where masking is recorded beside the check. */
  rows: GuardCheck[];
  failed: boolean;
  /** What a retry tells the model about its previous answer (when it failed). */
  feedback?: string;
  /** The failure goes to a reviewer whatever the ladder says. */
  forceHandoff?: boolean;
  /** The answer with values masked: what the checks after this one, and the caller, are shown. */
  shown?: string;
  /** Sentences the context does not support (as written). */
  unsupported?: string[];
  /** 0..1, higher is better: a score of the whole answer (the judge's), in place of the share of checks passed. */
  score?: number;
}

/** What the guarded stream knows when it checks a sentence. */
export interface SentenceContext {
  passages: string[];
  pii: OutputPiiActions;
}

/** One sentence of a streamed answer: true when it fails. */
export type SentenceCheck = (sentence: string) => boolean;

/** The settings a check reads: its section of the tenant's policy, `output.<name>`. */
export type SettingsOf<Policy> = Policy extends z.ZodType ? z.output<Policy> : undefined;

export interface OutputCheckUnit<Name extends OutputCheck = OutputCheck, Policy extends z.ZodType | undefined = z.ZodType | undefined> {
  name: Name;
  /** The schema of the check's section of the policy, `output.<name>`; none for a check without settings. */
  policy?: Policy;
  /** Judges the answer; undefined when the check does not apply to it (then it records no row). */
  checkAnswer(answer: AnswerUnderCheck, settings: SettingsOf<Policy>, tools: CheckTools): AnswerFinding | undefined | Promise<AnswerFinding | undefined>;
  /**
   * For a check that can judge one sentence alone: the check the stream runs on each sentence,
   * prepared once per answer (grounding indexes the context once); undefined when, with these
   * settings, no sentence alone can fail it.
   */
  sentenceCheck?(settings: SettingsOf<Policy>, context: SentenceContext): SentenceCheck | undefined;
  /**
   * For a check whose settings compile into matchers run on every answer: match them once over
   * `text`. The policy runs this at PUT over an anomaly-sized probe, so a list too costly to
   * match is refused there instead of slowing every task.
   */
  probeMatchers?(settings: SettingsOf<Policy>, text: string): void;
}

/** Declares a check, inferring its settings from its policy schema. */
export function outputCheck<const Name extends OutputCheck, Policy extends z.ZodType | undefined = undefined>(unit: OutputCheckUnit<Name, Policy>): OutputCheckUnit<Name, Policy> {
  return unit;
}
