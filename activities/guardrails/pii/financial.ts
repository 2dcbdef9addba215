// Payment data: card numbers (validator: issuer prefixes + Luhn) and IBANs (ibantools:
// country length and format + mod-97). Both are checksummed, so a hit scores 1.
import { electronicFormatIBAN, isValidIBAN } from 'ibantools';
import validator from 'validator';
import type { PiiSpan } from '../types.js';
import { matches, span } from './span.js';

// 13–19 digits, single spaces or dashes between them allowed (4-4-4-4, 4-6-5, …).
const CARD_CANDIDATE = /(?<![\w+-])\d(?:[ -]?\d){12,18}(?![\w]|-\d)/g;

export function detectCards(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, CARD_CANDIDATE)) {
    const digits = m[0].replace(/\D/g, '');
    // validator knows the issuer ranges (Visa, Mastercard incl. 2-series, Amex, Discover, JCB,
    // Diners, UnionPay) and checks Luhn; unknown issuers are not reported.
    if (validator.isCreditCard(digits)) found.push(span('CREDIT_CARD', text, m.index, m.index + m[0].length, 'validator', 1));
  }
  return found;
}

// Country code, check digits, then up to 30 alphanumerics compact or in groups of 4.
// Case-insensitive: people type "gb42nawi…" too, and mod-97 keeps random words out.
const IBAN_CANDIDATE = /(?<![\w])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}(?![\w])/gi;

export function detectIbans(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, IBAN_CANDIDATE)) {
    // A grouped candidate can run into a following word in capitals ("… 00 AND"); drop
    // trailing groups until the rest validates.
    let candidate = m[0];
    while (candidate.length >= 15) {
      const compact = electronicFormatIBAN(candidate)?.toUpperCase();
      if (compact && isValidIBAN(compact)) {
        found.push(span('IBAN', text, m.index, m.index + candidate.length, 'ibantools', 1, compact.slice(0, 2)));
        break;
      }
      const lastSpace = candidate.lastIndexOf(' ');
      if (lastSpace < 0) break;
      candidate = candidate.slice(0, lastSpace);
    }
  }
  return found;
}
