// Contact details: e-mail addresses, phone numbers, IP addresses. Cheap regexes find the
// candidates; maintained libraries (validator, libphonenumber-js, node:net) decide.
import { isIP } from 'node:net';
import { parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';
import validator from 'validator';
import type { PiiSpan } from '../types.js';
import { contextNear, matches, span } from './span.js';

const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const DOMAIN_CHAR = /[A-Za-z0-9.-]/;
const EMAIL_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;

/**
 * Grows each candidate outwards from its '@' (local part ≤ 64, domain ≤ 255 characters, as in
 * RFC 5321): a regex scanning for the local part from every position is quadratic on long runs
 * of letters, this is linear.
 */
export function detectEmails(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && at - start < 64 && LOCAL_CHAR.test(text[start - 1]!)) start--;
    while (start < at && !/[A-Za-z0-9]/.test(text[start]!)) start++;
    let end = at + 1;
    while (end < text.length && end - at <= 255 && DOMAIN_CHAR.test(text[end]!)) end++;
    const shape = EMAIL_SHAPE.exec(text.slice(start, end));
    if (shape && validator.isEmail(shape[0])) found.push(span('EMAIL_ADDRESS', text, start, start + shape[0].length, 'validator', 0.95));
  }
  return found;
}

// A run of digits with the separators people put in phone numbers, optionally behind + or 00.
// libphonenumber only ever sees these short candidates: its own scanner over the whole text
// costs ~0.4 ms per 500 characters, parsing a candidate ~20 µs.
const PHONE_CANDIDATE = /(?<![\w+./-])(?:\+ ?|00 ?)?(?:\(\d{1,5}\) ?)?\d(?:[ .-]?\(?\d\)?){5,17}(?:(?:x| ?ext\.? ?)\d{1,5})?(?![\w])/g;
/** A date, alone or followed by the hour of a timestamp ("2015-12-22 04:34"). */
const DATE_SHAPE = /^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?: \d{1,2})?$/;
const DOTTED_QUAD = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** A bare digit run (no separators, no +) is a phone number only when the text says so. */
const PHONE_WORDS = /\b(?:call|phone|tel|telephone|mobile|cell|text|sms|whatsapp|fax|ring|reach|contact|number|no\.?)\b|☎/i;
/** A label right before ("Mobile:", "call me on") or after ("… office", "-Fax") the number. */
const PHONE_LABEL_BEFORE = /\b(?:phone|tel|telephone|mobile|cell|fax|desk|office|whatsapp|sms|call(?: me)?(?: on| at)?|text me(?: on| at)?|reach me(?: on| at)?|answering at|messages to|registered)\b\W{0,4}$/i;
const PHONE_LABEL_AFTER = /^\s?-?\s?(?:office|fax|mobile|cell|home|work|desk)\b/i;
const REFERENCE_WORDS = /\b(?:order|invoice|ref|reference|ticket|case|account|acct|tracking|po|sku|serial|id|#)\s*(?:no\.?|number|#)?\s*[:#]?\s*$/i;
// Trunk prefix 0 means a national format outside NANP; try the countries our users write from.
const NATIONAL_WITH_ZERO: CountryCode[] = ['GB', 'DE', 'FR', 'AU', 'IN', 'IT', 'ES', 'NL', 'IE'];
const NATIONAL_WITHOUT_ZERO: CountryCode[] = ['US', 'IN'];

export function detectPhones(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, PHONE_CANDIDATE)) {
    const candidate = m[0];
    const digits = candidate.replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 15) continue;
    if (DATE_SHAPE.test(candidate) || DOTTED_QUAD.test(candidate)) continue;
    const international = /^(?:\+|00)/.test(candidate);
    const compact = /^\d+$/.test(candidate);
    if (compact && !contextNear(text, m.index, m.index + candidate.length, PHONE_WORDS, 30)) continue;
    if (!international && REFERENCE_WORDS.test(text.slice(Math.max(0, m.index - 20), m.index))) continue;
    // A '+' or '00' number names its own country; the default only matters for national formats.
    const countries = international ? (['US'] as CountryCode[]) : digits.startsWith('0') ? NATIONAL_WITH_ZERO : NATIONAL_WITHOUT_ZERO;
    const end = m.index + candidate.length;
    // parse + isValid on the candidate is ~2× cheaper than findNumbers, and the candidate
    // regex already fixed the span. `max` metadata: validity by number ranges, not length.
    let parsed: PhoneNumber | undefined;
    for (const country of countries) {
      // "00" is the international prefix outside North America: read it as "+".
      const n = parsePhoneNumberFromString(candidate.replace(/^00 ?/, '+'), country);
      if (n?.isValid()) {
        parsed = n;
        break;
      }
    }
    if (parsed) {
      found.push(span('PHONE_NUMBER', text, m.index, end, 'libphonenumber-js', international ? 0.9 : 0.8, parsed.country));
      continue;
    }
    // Local numbers without an area code ("Phone: 467 3395") and numbers from ranges
    // libphonenumber does not know are still phone numbers when the text labels them so.
    if (PHONE_LABEL_BEFORE.test(text.slice(Math.max(0, m.index - 24), m.index)) || PHONE_LABEL_AFTER.test(text.slice(end, end + 8))) {
      found.push(span('PHONE_NUMBER', text, m.index, end, 'phone-label', 0.6));
    }
  }
  return found;
}

const IPV4_CANDIDATE = /(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)/g;
const IPV6_CANDIDATE = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])/g;
/** "version 10.4.2.1" and "v1.2.3.4" are version numbers even when they parse as addresses. */
const VERSION_WORDS = /(?:\bv|\bversion|\bbuild|\bfirmware|\brelease|\bver\.?)\s*$/i;

export function detectIpAddresses(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, IPV4_CANDIDATE)) {
    if (isIP(m[0]) !== 4) continue;
    if (VERSION_WORDS.test(text.slice(Math.max(0, m.index - 12), m.index))) continue;
    found.push(span('IP_ADDRESS', text, m.index, m.index + m[0].length, 'node:net', 0.9, 'ipv4'));
  }
  for (const m of matches(text, IPV6_CANDIDATE)) {
    // Times (10:30:00) and lone "::" are not addresses: insist on hex groups and a valid parse.
    if (m[0].replace(/[^0-9A-Fa-f]/g, '').length < 4 || isIP(m[0]) !== 6) continue;
    found.push(span('IP_ADDRESS', text, m.index, m.index + m[0].length, 'node:net', 0.9, 'ipv6'));
  }
  return found;
}
