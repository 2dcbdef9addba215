// What every PII detector shares: the detector signature, a span builder, and the "is there a
// context word nearby" test that keeps ambiguous shapes (a bare 9-digit number, a date) from
// being flagged when nothing around them says what they are.
import type { PiiClass, PiiSpan } from '../types.js';

export type Detector = (text: string) => PiiSpan[];

export function span(
  type: PiiClass,
  text: string,
  start: number,
  end: number,
  detector: string,
  score: number,
  subtype?: string,
): PiiSpan {
  const found: PiiSpan = { type, start, end, text: text.slice(start, end), detector, score };
  if (subtype !== undefined) found.subtype = subtype;
  return found;
}

/** True when `pattern` matches within `before` characters before `start` (or `after` after `end`). */
export function contextNear(text: string, start: number, end: number, pattern: RegExp, before = 40, after = 0): boolean {
  if (pattern.test(text.slice(Math.max(0, start - before), start))) return true;
  return after > 0 && pattern.test(text.slice(end, end + after));
}

/** All matches of a global regex, without the `lastIndex` bookkeeping at every call site. */
export function* matches(text: string, pattern: RegExp): Generator<RegExpExecArray> {
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    yield m;
    if (m[0].length === 0) pattern.lastIndex++;
  }
}
