// The bounded fields a tenant's guardrail policy is built from, shared by its sections in
// policy.ts and by the output checks' own sections (checks/*.ts).
import { z } from 'zod';
import { storableString } from '../../infra/input-limits.js';

// Limits that keep a tenant's own policy from breaking its tasks: every phrase list becomes one
// regex, compiled in the worker's event loop and matched against every input, and a matched
// phrase is recorded in the task's steps. A policy document over them is refused at PUT.
export const POLICY_LIMITS = {
  maxDocumentBytes: 128 * 1024,
  maxTopics: 50,
  maxPhrasesPerTopic: 100,
  maxPhrases: 1_000,
  maxPhraseChars: 100,
  maxTerms: 200,
  maxTermChars: 100,
  maxTextChars: 2_000,
  maxModelChars: 100,
  /** Compiling every matcher and running it over an anomaly-sized probe must fit this. */
  maxMatchMs: 200,
} as const;
const L = POLICY_LIMITS;

/** A model name, as the gateway's registry knows it. */
export const modelName = storableString(L.maxModelChars).min(1);
/** Text a tenant writes for people to read: a stock response, a rubric. */
export const prose = storableString(L.maxTextChars).min(1);
/** A phrase matched against every input. */
export const phrase = storableString(L.maxPhraseChars).min(2);
/** A list of terms matched against every answer (brand, competitor, risky terms). */
export const termList = z.array(storableString(L.maxTermChars).min(2)).max(L.maxTerms);
