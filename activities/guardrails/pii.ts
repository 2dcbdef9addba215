// PII detection: pure functions from text to non-overlapping spans, run on every request
// (budget: well under 1 ms for a 500-character question). One detector per class lives in
// ./pii/; this module runs the ones asked for and settles overlaps.
import { detectAddresses, detectCuedAddresses } from './pii/address.js';
import { detectEmails, detectIpAddresses, detectPhones } from './pii/contact.js';
import { detectHighEntropyStrings, detectPasswords, detectPrefixedSecrets, detectUrlPasswords } from './pii/credentials.js';
import { detectDatesOfBirth } from './pii/date-of-birth.js';
import { detectCards, detectIbans } from './pii/financial.js';
import { detectSpanishIds, detectUkNinos, detectUsSsns } from './pii/national-id.js';
import { detectPersons } from './pii/person.js';
import type { Detector } from './pii/span.js';
import { isPlaceholder, PII_CLASSES, type PiiClass, type PiiSpan } from './types.js';

const DETECTORS: Record<PiiClass, Detector[]> = {
  EMAIL_ADDRESS: [detectEmails],
  PHONE_NUMBER: [detectPhones],
  CREDIT_CARD: [detectCards],
  NATIONAL_ID: [detectUsSsns, detectUkNinos, detectSpanishIds],
  IBAN: [detectIbans],
  IP_ADDRESS: [detectIpAddresses],
  POSTAL_ADDRESS: [detectAddresses, detectCuedAddresses],
  PERSON: [detectPersons],
  DATE_OF_BIRTH: [detectDatesOfBirth],
  CREDENTIAL: [detectPrefixedSecrets, detectUrlPasswords, detectPasswords, detectHighEntropyStrings],
};

export interface DetectPiiOptions {
  /** Only these classes (default: all). */
  classes?: readonly PiiClass[];
}

/**
 * Every PII value found in `text`, sorted by start, no two overlapping. Our own placeholders
 * (`[PERSON_1]`) are values already masked: never reported.
 */
export function detectPii(text: string, opts: DetectPiiOptions = {}): PiiSpan[] {
  const candidates: PiiSpan[] = [];
  for (const type of opts.classes ?? PII_CLASSES) {
    for (const detect of DETECTORS[type]) candidates.push(...detect(text));
  }
  return resolveOverlaps(candidates).filter((s) => !isPlaceholder(s.text));
}

/**
 * Keeps the most credible of overlapping spans: higher score first, then the longer span, then
 * the earlier one. Checksummed classes score 1, so a card number is never also a phone number.
 */
export function resolveOverlaps(spans: readonly PiiSpan[]): PiiSpan[] {
  const ranked = [...spans].sort((a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const kept: PiiSpan[] = [];
  for (const s of ranked) {
    if (!kept.some((k) => s.start < k.end && k.start < s.end)) kept.push(s);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/** PII counts by class: what a step may show about matched values (never the values). */
export function countByClass(spans: PiiSpan[]): Partial<Record<PiiClass, number>> {
  const counts: Partial<Record<PiiClass, number>> = {};
  for (const s of spans) counts[s.type] = (counts[s.type] ?? 0) + 1;
  return counts;
}

/** The text with each PII value replaced by its class's placeholder (`[EMAIL_ADDRESS]`): for text kept where no vault is (a routing preference's query, a feedback's comment). */
export function maskPiiByClass(text: string, classes: readonly PiiClass[] = PII_CLASSES): string {
  let out = text;
  for (const span of detectPii(text, { classes }).sort((a, b) => b.start - a.start)) {
    out = `${out.slice(0, span.start)}[${span.type}]${out.slice(span.end)}`;
  }
  return out;
}
