// National identifiers: US Social Security numbers, UK National Insurance numbers and Spanish
// DNI/NIE numbers. SSNs have no checksum, so the shape rules plus context carry the weight.
import type { PiiSpan } from '../types.js';
import { contextNear, matches, span } from './span.js';

const SSN_WORDS = /\b(?:ssn|social security|social sec\.?|ss#|ss no\.?|taxpayer id|tin)\b/i;
const SSN_SEPARATED = /(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|-\d)/g;
const SSN_COMPACT = /(?<![\w-])(\d{3})(\d{2})(\d{4})(?![\w-])/g;

/** SSA rules: area not 000, 666 or 9xx; group not 00; serial not 0000. */
function isValidSsn(area: string, group: string, serial: string): boolean {
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

export function detectUsSsns(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, SSN_SEPARATED)) {
    if (!isValidSsn(m[1]!, m[3]!, m[4]!)) continue;
    const end = m.index + m[0].length;
    const keyword = contextNear(text, m.index, end, SSN_WORDS, 40, 20);
    // Dashed AAA-GG-SSSS is distinctive on its own; the spaced form needs the keyword.
    if (m[2] === ' ' && !keyword) continue;
    found.push(span('NATIONAL_ID', text, m.index, end, 'us_ssn', keyword ? 0.95 : 0.85, 'us_ssn'));
  }
  for (const m of matches(text, SSN_COMPACT)) {
    const end = m.index + m[0].length;
    if (!isValidSsn(m[1]!, m[2]!, m[3]!) || !contextNear(text, m.index, end, SSN_WORDS, 40)) continue;
    found.push(span('NATIONAL_ID', text, m.index, end, 'us_ssn', 0.9, 'us_ssn'));
  }
  return found;
}

// HMRC: first letter not D, F, I, Q, U, V; second not D, F, I, O, Q, U, V; some pairs never issued.
const NINO = /(?<![\w])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?![\w])/g;
const NINO_UNUSED_PREFIXES = new Set(['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ']);

export function detectUkNinos(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, NINO)) {
    if (NINO_UNUSED_PREFIXES.has(m[1]!)) continue;
    found.push(span('NATIONAL_ID', text, m.index, m.index + m[0].length, 'uk_nino', 0.9, 'uk_nino'));
  }
  return found;
}

// DNI: 8 digits + check letter; NIE: X/Y/Z + 7 digits + check letter (X=0, Y=1, Z=2).
const DNI = /(?<![\w])([XYZ]?)(\d{7,8})-? ?([A-Z])(?![\w])/g;
const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

export function detectSpanishIds(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, DNI)) {
    const prefix = m[1]!;
    const digits = m[2]!;
    if (prefix ? digits.length !== 7 : digits.length !== 8) continue;
    const number = Number(('XYZ'.indexOf(prefix) >= 0 && prefix ? String('XYZ'.indexOf(prefix)) : '') + digits);
    if (DNI_LETTERS[number % 23] !== m[3]) continue;
    found.push(span('NATIONAL_ID', text, m.index, m.index + m[0].length, prefix ? 'es_nie' : 'es_dni', 1, prefix ? 'es_nie' : 'es_dni'));
  }
  return found;
}
