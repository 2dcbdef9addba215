// Dates of birth: a date is personal only when the text says it is a birth date; order and
// delivery dates are not. So: find dates in the usual written forms, keep those with a birth
// word shortly before (or, as in "1985-03-14 (DOB)", right after).
import type { PiiSpan } from '../types.js';
import { contextNear, matches, span } from './span.js';

const MONTH = '(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\\.?';
const DAY = '(?:[12]\\d|3[01]|0?[1-9])(?:st|nd|rd|th)?';
const DATE = new RegExp(
  [
    '\\d{4}-\\d{1,2}-\\d{1,2}', // 1985-03-14
    '\\d{1,2}[/.-]\\d{1,2}[/.-](?:\\d{4}|\\d{2})', // 14/03/1985, 03.14.85
    `${MONTH} ${DAY},? \\d{4}`, // March 14, 1985
    `${DAY} (?:of )?${MONTH},? \\d{4}`, // 14 March 1985, 14th of March 1985
  ]
    .map((form) => `(?:${form})`)
    .join('|'),
  'gi',
);
const BIRTH_WORDS = /\b(?:born|birth|birthday|birthdate|dob|d\.o\.b\.?|b-day|bday|née|geb\.?|geboren)\b|\bd\.o\.b\b/i;

export function detectDatesOfBirth(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, DATE)) {
    const start = m.index;
    const end = start + m[0].length;
    if (/\w/.test(text[start - 1] ?? '') || /\w/.test(text[end] ?? '')) continue;
    if (!contextNear(text, start, end, BIRTH_WORDS, 40, 12)) continue;
    found.push(span('DATE_OF_BIRTH', text, start, end, 'date+context', 0.9));
  }
  return found;
}
