// Postal addresses, hand-written because no maintained JS library parses free-text addresses
// well. A street line is a house number, one to four capitalised words and a street suffix;
// it may carry a unit and a "City, ST 12345" (US) or "City POSTCODE" (UK) tail. A postcode on
// its own is not an address. Other countries' formats ("Koskikatu 25, Helsinki") are taken only
// after a cue that says an address follows ("my address is", "lives at", "ship to").
import type { PiiSpan } from '../types.js';
import { matches, span } from './span.js';

const SUFFIX =
  '(?:Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|Ter|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Close|Crescent|Cres|Gardens|Gdns|Grove|Row|Mews|Hill|Walk|Trail|Trl|Plaza|Alley|Loop|Park|Green|Rise|Vale|View|Wharf|Quay|Broadway)\\.?';
const WORD = "(?:[A-Z][A-Za-z'’.-]*|\\d{1,3}(?:st|nd|rd|th))";
const UNIT = '(?:(?:,? |,?\\n ?)(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|#)\\.? ?#?[A-Za-z0-9-]{1,6})';
const FLAT_FIRST = "(?:(?:Flat|Apartment|Apt|Unit|Suite) [A-Za-z0-9-]{1,5},? )";
const US_TAIL = '(?:(?:,? |,?\\n ?)[A-Z][A-Za-z.]*(?: [A-Z][A-Za-z.]*){0,2},? [A-Z]{2},? \\d{5}(?:-\\d{4})?)';
const UK_POSTCODE = '(?:[A-Z]{1,2}\\d[A-Z\\d]? ?\\d[ABD-HJLNP-UW-Z]{2})';
const UK_TAIL = `(?:(?:,? |,?\\n ?)[A-Z][A-Za-z.]*(?:[ -][A-Z][A-Za-z.]*){0,2},? ${UK_POSTCODE})`;
const CITY_ONLY_TAIL = '(?:, [A-Z][a-z]+(?: [A-Z][a-z]+)?(?=[.,;!?]?(?:\\s|$)))';

const STREET_ADDRESS = new RegExp(
  `(?<![\\w-])${FLAT_FIRST}?\\d{1,6}[A-Za-z]?(?:-\\d{1,4})?,? (?:${WORD} ){1,4}${SUFFIX}(?![\\w])${UNIT}?(?:${US_TAIL}|${UK_TAIL}|${CITY_ONLY_TAIL})?`,
  'g',
);
const HAS_TAIL = new RegExp(`(?:\\d{5}(?:-\\d{4})?|${UK_POSTCODE})$`);

export function detectAddresses(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, STREET_ADDRESS)) {
    const value = m[0].replace(/[.,]+$/, '');
    // With a city + ZIP or postcode tail it is certainly an address; a bare street line less so.
    const score = HAS_TAIL.test(value) ? 0.9 : 0.8;
    found.push(span('POSTAL_ADDRESS', text, m.index, m.index + value.length, 'street', score));
  }
  return found;
}

const ADDRESS_CUE = /\b(?:address(?: is|:)|addresses(?: are|:)|lives at|live at|located at|ship(?:ped)? (?:it |them )?to|send (?:it |them )?to|sent to|deliver(?:ed)? (?:it |them )?to|moved to|mail(?:ed)? to)\s*:?\s*(?:the corner of\s+)?/gi;
/** The value after a cue: up to the end of the sentence or paragraph, at most 120 characters. */
const CUED_VALUE = /^(?:\d|\p{Lu})[^?!;]{6,119}?(?=\.(?:\s|$)|[?!;]|\n\s*\n|,? (?:and|for|but|which|so|if)\b|$)/u;

export function detectCuedAddresses(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, ADDRESS_CUE)) {
    const start = m.index + m[0].length;
    const value = CUED_VALUE.exec(text.slice(start, start + 160))?.[0].replace(/[\s,]+$/, '');
    // An address has a house number, box or postcode; "send it to Maria" does not.
    if (!value || !/\d/.test(value)) continue;
    found.push(span('POSTAL_ADDRESS', text, start, start + value.length, 'address-cue', 0.7));
  }
  return found;
}
