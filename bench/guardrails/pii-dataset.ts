// A labeled PII evaluation set we generate ourselves: values are synthesised (checksums made
// valid where the real thing has one) and dropped into varied sentence templates, so every
// gold span is known exactly. Deterministic from the seed.
//
// Keeping it honest: the detector's name lexicon is compromise's; the names below were written
// by hand for variety (West African, East and South Asian, Slavic, Nordic, Hispanic, Arabic,
// Anglo) without consulting it, so some are in it and many are not, as in real traffic. The
// street names, cities and templates likewise share nothing with the detector's code, which
// only knows street suffixes and cue words. Phone numbers follow each country's numbering plan
// by hand; libphonenumber is never asked whether a generated number is valid. Nothing here was
// changed to make a detector pass.
import type { PiiClass } from '../../activities/guardrails/types.js';
import { seededRandom } from '../lib/sotu-windows.js';

export interface GoldSpan {
  type: PiiClass;
  start: number;
  end: number;
}
export interface LabeledText {
  text: string;
  spans: GoldSpan[];
}

/** mulberry32, the benchmarks' seeded PRNG (reproducible test data). */
export const mulberry32 = seededRandom;

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const digits = (rng: Rng, n: number) => Array.from({ length: n }, () => int(rng, 0, 9)).join('');
const chars = (rng: Rng, alphabet: string, n: number) => Array.from({ length: n }, () => pick(rng, [...alphabet])).join('');
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE64URL = BASE62 + '-_';
const ascii = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').replace(/[^A-Za-z]/g, '').toLowerCase();

// ---- people and places -------------------------------------------------------------------

const FIRST = [
  'Oluwaseun', 'Chiamaka', 'Kwame', 'Amara', 'Hiroshi', 'Aiko', 'Priya', 'Rahul', 'Deepika', 'Arjun',
  'Mei', 'Wei', 'Jiho', 'Minh', 'Thanh', 'Dmitri', 'Olga', 'Tomasz', 'Agnieszka', 'Ingrid',
  'Lars', 'Siobhan', 'Ciaran', 'Mateo', 'Lucía', 'José', 'Ximena', 'Fatima', 'Omar', 'Layla',
  'Youssef', 'Emma', 'Oliver', 'Charlotte', 'Jack', 'Sophie', 'Daniel', 'Hannah', 'Marcus', 'Rebecca',
  'Zoë', 'Björn', 'Giulia', 'Matteo', 'Anneke', 'Pieter', 'Nadia', 'Tariq', 'Leilani', 'Kai',
  'Ayesha', 'Sanjay', 'Svetlana', 'Bogdan', 'Chen', 'Haruto', 'Emeka', 'Adaeze', 'Rosa', 'Tobias',
];
const LAST = [
  'Adeyemi', 'Okonkwo', 'Mensah', 'Abebe', 'Tanaka', 'Nakamura', 'Raghunathan', 'Chatterjee', 'Iyer', 'Sharma',
  'Zhang', 'Liu', 'Park', 'Nguyen', 'Tran', 'Petrov', 'Volkova', 'Kowalski', 'Wiśniewska', 'Lindqvist',
  'Johansson', "O'Sullivan", 'Gallagher', 'García', 'Fernández', 'Ortega', 'Haddad', 'Al-Sayed', 'Mansour', 'Khalil',
  'Thompson', 'Whitfield', 'Harrington', 'Bennett', 'Clarke', 'Fitzgerald', 'Müller', 'Schneider', 'Rossi', 'Bianchi',
  'van Dijk', 'de Vries', 'Papadopoulos', 'Yılmaz', 'Novak', 'Horvat', 'Kaplan', 'Sato', 'Mbeki', 'Dubois',
];
const TITLES = ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Mr', 'Ms', 'Prof.'];
const STREETS = ['Maple', 'Juniper', 'Harbor View', 'Kingsley', 'Old Mill', 'Riverside', 'Beacon', 'Willow Creek', 'Abbey', 'Chestnut', 'Elmwood', 'Sycamore', 'Highfield', 'Church', 'Station', 'Victoria', 'Larkspur', 'Cedar Ridge', 'Foxglove', 'Marlborough'];
const US_SUFFIXES = ['Street', 'St', 'Avenue', 'Ave', 'Road', 'Rd', 'Boulevard', 'Blvd', 'Lane', 'Ln', 'Drive', 'Dr', 'Court', 'Way', 'Place', 'Parkway'];
const UK_SUFFIXES = ['Street', 'Road', 'Lane', 'Close', 'Crescent', 'Gardens', 'Avenue', 'Terrace', 'Mews', 'Way', 'Grove', 'Row'];
const US_CITIES: Array<[string, string]> = [['Springfield', 'IL'], ['Portland', 'OR'], ['Austin', 'TX'], ['San Mateo', 'CA'], ['Brooklyn', 'NY'], ['Ann Arbor', 'MI'], ['Boulder', 'CO'], ['Savannah', 'GA'], ['Tacoma', 'WA'], ['Raleigh', 'NC']];
const UK_CITIES = ['London', 'Manchester', 'Leeds', 'Bristol', 'Glasgow', 'Cardiff', 'Norwich', 'York', 'Brighton', 'Sheffield'];
const DOMAINS = ['example.com', 'mail.example.org', 'inkwell-printers.co.uk', 'acme.io', 'gmail.com', 'outlook.com', 'uni-heidelberg.de', 'company.fr', 'startup.ai'];

function fullName(rng: Rng): string {
  return `${pick(rng, FIRST)} ${pick(rng, LAST)}`;
}

function email(rng: Rng): string {
  const first = ascii(pick(rng, FIRST));
  const last = ascii(pick(rng, LAST));
  const local = pick(rng, [`${first}.${last}`, `${first[0]}${last}`, `${first}_${last}${int(rng, 1, 99)}`, `${first}+support`, `${last}.${first}`]);
  return `${local}@${pick(rng, DOMAINS)}`;
}

function usAddress(rng: Rng): string {
  let line = `${int(rng, 1, 9899)} ${pick(rng, STREETS)} ${pick(rng, US_SUFFIXES)}`;
  if (rng() < 0.3) line += `, ${pick(rng, ['Apt', 'Suite', 'Unit'])} ${int(rng, 1, 40)}${pick(rng, ['', 'B', ''])}`;
  if (rng() < 0.75) {
    const [city, state] = pick(rng, US_CITIES);
    line += `, ${city}, ${state} ${pad(int(rng, 1001, 99950), 5)}`;
  }
  return line;
}

function ukPostcode(rng: Rng): string {
  const area = pick(rng, ['NW', 'SW', 'E', 'M', 'LS', 'BS', 'G', 'CF', 'NR', 'YO', 'BN', 'S', 'EC']);
  return `${area}${int(rng, 1, 19)} ${int(rng, 1, 9)}${chars(rng, 'ABDEFGHJLNPQRSTUWXYZ', 2)}`;
}

function ukAddress(rng: Rng): string {
  const flat = rng() < 0.2 ? `Flat ${int(rng, 1, 12)}, ` : '';
  return `${flat}${int(rng, 1, 250)}${pick(rng, ['', '', 'A', 'B'])} ${pick(rng, STREETS)} ${pick(rng, UK_SUFFIXES)}, ${pick(rng, UK_CITIES)} ${ukPostcode(rng)}`;
}

// ---- numbers with checksums --------------------------------------------------------------

function luhnComplete(prefix: string, length: number, rng: Rng): string {
  const body = prefix + digits(rng, length - prefix.length - 1);
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

function creditCard(rng: Rng): string {
  const kind = pick(rng, ['visa', 'visa', 'mc', 'mc2', 'amex', 'discover']);
  const number =
    kind === 'visa' ? luhnComplete('4', 16, rng)
    : kind === 'mc' ? luhnComplete(String(int(rng, 51, 55)), 16, rng)
    : kind === 'mc2' ? luhnComplete(String(int(rng, 2221, 2720)), 16, rng)
    : kind === 'amex' ? luhnComplete(pick(rng, ['34', '37']), 15, rng)
    : luhnComplete('6011', 16, rng);
  const sep = pick(rng, [' ', ' ', '-', '']);
  if (kind === 'amex') return [number.slice(0, 4), number.slice(4, 10), number.slice(10)].join(sep);
  return number.match(/.{4}/g)!.join(sep);
}

/** IBAN check digits: 98 − (BBAN + country letters as numbers + "00") mod 97. */
function ibanFor(country: string, bban: string): string {
  const numeric = (bban + country + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let rest = 0;
  for (const ch of numeric) rest = (rest * 10 + Number(ch)) % 97;
  return country + pad(98 - rest, 2) + bban;
}

function iban(rng: Rng): string {
  const country = pick(rng, ['DE', 'GB', 'NL', 'AT', 'CH', 'IE']);
  const bban =
    country === 'DE' ? digits(rng, 18)
    : country === 'GB' ? pick(rng, ['NWBK', 'BARC', 'HBUK', 'LOYD', 'MIDL']) + digits(rng, 14)
    : country === 'NL' ? pick(rng, ['ABNA', 'INGB', 'RABO', 'TRIO']) + digits(rng, 10)
    : country === 'AT' ? digits(rng, 16)
    : country === 'CH' ? digits(rng, 17)
    : pick(rng, ['AIBK', 'BOFI']) + digits(rng, 14);
  const compact = ibanFor(country, bban);
  return rng() < 0.7 ? compact.match(/.{1,4}/g)!.join(' ') : compact;
}

function ssn(rng: Rng, style: 'dashed' | 'any'): string {
  let area = int(rng, 1, 899);
  if (area === 666) area = 667;
  const parts = [pad(area, 3), pad(int(rng, 1, 99), 2), pad(int(rng, 1, 9999), 4)];
  const sep = style === 'dashed' ? '-' : pick(rng, ['-', '-', ' ', '']);
  return parts.join(sep);
}

function nino(rng: Rng): string {
  let prefix: string;
  do prefix = chars(rng, 'ABCEGHJKLMNOPRSTWXYZ', 1) + chars(rng, 'ABCEGHJKLMNPRSTWXYZ', 1);
  while (['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ'].includes(prefix));
  const d = digits(rng, 6);
  const suffix = chars(rng, 'ABCD', 1);
  return rng() < 0.5 ? `${prefix}${d}${suffix}` : `${prefix} ${d.slice(0, 2)} ${d.slice(2, 4)} ${d.slice(4)} ${suffix}`;
}

function spanishDni(rng: Rng): string {
  const n = int(rng, 10000000, 99999999);
  return `${n}${'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}`;
}

function nationalId(rng: Rng): string {
  return pick(rng, [() => ssn(rng, 'dashed'), () => nino(rng), () => spanishDni(rng)])();
}

// ---- phones, by each country's numbering plan ---------------------------------------------

function phone(rng: Rng): string {
  const country = pick(rng, ['US', 'US', 'GB', 'GB', 'DE', 'FR', 'IN', 'AU']);
  const g = (n: number) => digits(rng, n);
  switch (country) {
    case 'US': {
      const area = pick(rng, ['212', '415', '646', '312', '617', '206', '303', '512', '702', '305', '404', '213']);
      const exchange = `${int(rng, 2, 9)}${int(rng, 2, 9)}${int(rng, 0, 9)}`;
      const line = g(4);
      return pick(rng, [`(${area}) ${exchange}-${line}`, `${area}-${exchange}-${line}`, `${area}.${exchange}.${line}`, `+1 ${area} ${exchange} ${line}`, `+1-${area}-${exchange}-${line}`, `+1 (${area}) ${exchange}-${line}`]);
    }
    case 'GB': {
      const mobile = `7${pick(rng, ['4', '5', '7', '8', '9'])}${g(2)}`; // 076 is pagers, not mobiles
      const london = `${pick(rng, ['7', '8', '3'])}${g(3)}`;
      return pick(rng, [`020 ${london} ${g(4)}`, `+44 20 ${london} ${g(4)}`, `0${mobile} ${g(6)}`, `+44 ${mobile} ${g(6)}`, `+44 (0)20 ${london} ${g(4)}`, `0161 ${int(rng, 2, 9)}${g(2)} ${g(4)}`]);
    }
    case 'DE': {
      const mobile = `${pick(rng, ['151', '157', '176'])}${g(1)}`; // these blocks take 8 subscriber digits
      return pick(rng, [`+49 30 ${int(rng, 2, 9)}${g(7)}`, `030 ${int(rng, 2, 9)}${g(7)}`, `+49 ${mobile} ${g(7)}`, `0${mobile} ${g(7)}`, `+49 89 ${int(rng, 2, 9)}${g(6)}`]);
    }
    case 'FR': {
      const pairs = () => [`${int(rng, 1, 8)}${g(1)}`, g(2), g(2), g(2)].join(' '); // 069x belongs to the overseas départements
      return pick(rng, [`+33 1 ${pairs()}`, `01 ${pairs()}`, `06 ${pairs()}`, `+33 6 ${pairs()}`, `07 ${int(rng, 5, 8)}${g(1)} ${g(2)} ${g(2)} ${g(2)}`]);
    }
    case 'IN': {
      const mobile = `${int(rng, 7, 9)}${g(4)}`;
      return pick(rng, [`+91 ${mobile} ${g(5)}`, `+91-${mobile}-${g(5)}`, `+91 ${mobile}${g(5)}`]);
    }
    default: {
      return pick(rng, [`+61 2 ${int(rng, 8, 9)}${g(3)} ${g(4)}`, `(02) ${int(rng, 8, 9)}${g(3)} ${g(4)}`, `04${g(2)} ${g(3)} ${g(3)}`, `+61 4${g(2)} ${g(3)} ${g(3)}`]);
    }
  }
}

function ipAddress(rng: Rng): string {
  const h = () => int(rng, 0, 0xffff).toString(16);
  return pick(rng, [
    () => `${int(rng, 1, 223)}.${int(rng, 0, 255)}.${int(rng, 0, 255)}.${int(rng, 1, 254)}`,
    () => `192.168.${int(rng, 0, 255)}.${int(rng, 1, 254)}`,
    () => `10.${int(rng, 0, 255)}.${int(rng, 0, 255)}.${int(rng, 1, 254)}`,
    () => Array.from({ length: 8 }, h).join(':'),
    () => `2001:db8::${h()}:${h()}`,
    () => `fe80::${h()}:${h()}:${h()}:${h()}`,
  ])();
}

// ---- credentials -------------------------------------------------------------------------

const b64url = (s: string) => Buffer.from(s).toString('base64url');

function credential(rng: Rng): string {
  return pick(rng, [
    () => `sk-${chars(rng, BASE62, 48)}`,
    () => `sk-proj-${chars(rng, BASE64URL, 64)}`,
    () => `ghp_${chars(rng, BASE62, 36)}`,
    () => `gho_${chars(rng, BASE62, 36)}`,
    () => `github_pat_${chars(rng, BASE62, 22)}_${chars(rng, BASE62, 59)}`,
    () => `xoxb-${digits(rng, 12)}-${digits(rng, 13)}-${chars(rng, BASE62, 24)}`,
    () => `xoxp-${digits(rng, 12)}-${digits(rng, 12)}-${digits(rng, 13)}-${chars(rng, 'abcdef0123456789', 32)}`,
    () => `AKIA${chars(rng, UPPER + '234567', 16)}`,
    () => `AIza${chars(rng, BASE64URL, 35)}`,
    () => `${pick(rng, ['sk', 'pk', 'rk'])}_live_${chars(rng, BASE62, 24)}`,
    () => `glpat-${chars(rng, BASE64URL, 20)}`,
    () => `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(`{"sub":"${digits(rng, 8)}","name":"${pick(rng, FIRST)}","iat":${int(rng, 1600000000, 1800000000)}}`)}.${chars(rng, BASE64URL, 43)}`,
    () => `gh_${chars(rng, 'abcdef0123456789', 12)}_${chars(rng, BASE64URL, 43)}`,
    () => {
      const kind = pick(rng, ['RSA ', 'EC ', 'OPENSSH ', '']);
      return `-----BEGIN ${kind}PRIVATE KEY-----\n${chars(rng, BASE62 + '+/', 64)}\n${chars(rng, BASE62 + '+/', 40)}=\n-----END ${kind}PRIVATE KEY-----`;
    },
    () => chars(rng, BASE62, int(rng, 32, 48)),
  ])();
}

// ---- dates of birth and look-alikes --------------------------------------------------------

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function date(rng: Rng, yearFrom: number, yearTo: number): string {
  const y = int(rng, yearFrom, yearTo);
  const m = int(rng, 1, 12);
  const d = int(rng, 1, 28);
  return pick(rng, [`${y}-${pad(m, 2)}-${pad(d, 2)}`, `${pad(d, 2)}/${pad(m, 2)}/${y}`, `${m}/${d}/${y}`, `${MONTHS[m - 1]} ${d}, ${y}`, `${d} ${MONTHS[m - 1]} ${y}`, `${pad(d, 2)}.${pad(m, 2)}.${y}`]);
}

const hex = (rng: Rng, n: number) => chars(rng, 'abcdef0123456789', n);
const BENIGN: Record<string, (rng: Rng) => string> = {
  ORDER: (rng) => pick(rng, [`order ${int(rng, 1000, 9999)}`, `order #${int(rng, 10000, 99999)}`, `order no. ${int(rng, 100000, 999999)}`, `invoice INV-${int(rng, 2019, 2026)}-${pad(int(rng, 1, 99999), 5)}`]),
  PRICE: (rng) => pick(rng, [`$${int(rng, 1, 2999)}.${pad(int(rng, 0, 99), 2)}`, `€${int(rng, 5, 900)},${pad(int(rng, 0, 99), 2)}`, `£${int(rng, 1, 9)},${int(rng, 100, 999)}`, `USD ${int(rng, 1000, 99999).toLocaleString('en-US')}`]),
  VERSION: (rng) => pick(rng, [`${int(rng, 1, 12)}.${int(rng, 0, 20)}.${int(rng, 0, 30)}`, `v${int(rng, 1, 9)}.${int(rng, 0, 9)}.${int(rng, 0, 99)}`, `version ${int(rng, 1, 4)}.${int(rng, 0, 9)}.${int(rng, 0, 9)}.${int(rng, 0, 255)}`]),
  DATE: (rng) => date(rng, 2019, 2026),
  PRODUCT: (rng) => pick(rng, ['Jet 5', 'Jet 5 Pro', 'LX-200', 'FleetManager', 'InkPro X3', 'the Jet 7 printer', 'TonerSaver 2', 'OfficeJet Max']),
  UUID: (rng) => `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-${pick(rng, ['8', '9', 'a', 'b'])}${hex(rng, 3)}-${hex(rng, 12)}`,
  SHA: (rng) => hex(rng, pick(rng, [7, 40])),
  TRACKING: (rng) => pick(rng, [`1Z${chars(rng, UPPER + '0123456789', 16)}`, `${digits(rng, 12)}`, `SN-${digits(rng, 4)}-${digits(rng, 4)}`]),
  QTY: (rng) => pick(rng, [`${int(rng, 2, 99)},${int(rng, 100, 999)} pages`, `${int(rng, 100, 5000)} units`, `${int(rng, 1, 60)} minutes`]),
  TIME: (rng) => `${int(rng, 0, 23)}:${pad(int(rng, 0, 59), 2)}${pick(rng, ['', ':00'])}`,
};

// ---- templates ---------------------------------------------------------------------------

/** Slots that carry PII, and the class of what they render. */
const PII_SLOTS: Record<string, { type: PiiClass; render: (rng: Rng) => string }> = {
  NAME: { type: 'PERSON', render: fullName },
  FIRST: { type: 'PERSON', render: (rng) => pick(rng, FIRST) },
  SURNAME: { type: 'PERSON', render: (rng) => pick(rng, LAST) },
  EMAIL: { type: 'EMAIL_ADDRESS', render: email },
  PHONE: { type: 'PHONE_NUMBER', render: phone },
  CARD: { type: 'CREDIT_CARD', render: creditCard },
  IBAN: { type: 'IBAN', render: iban },
  SSN: { type: 'NATIONAL_ID', render: (rng) => ssn(rng, 'any') },
  NATID: { type: 'NATIONAL_ID', render: nationalId },
  IP: { type: 'IP_ADDRESS', render: ipAddress },
  ADDRESS: { type: 'POSTAL_ADDRESS', render: (rng) => (rng() < 0.5 ? usAddress(rng) : ukAddress(rng)) },
  DOB: { type: 'DATE_OF_BIRTH', render: (rng) => date(rng, 1940, 2006) },
  CRED: { type: 'CREDENTIAL', render: credential },
};

// {TITLE} renders an honorific whose name is the following {SURNAME}; it is not itself PII.
const TEMPLATES = [
  // support tickets
  'Hi, my name is {NAME} and my {PRODUCT} keeps jamming since the {VERSION} update. Call me on {PHONE}.',
  'Ticket from {NAME} ({EMAIL}): {ORDER} arrived damaged, please refund {PRICE}.',
  'Customer {NAME} reports that {ORDER} was charged twice to card {CARD}.',
  'Please update the delivery address for {ORDER} to {ADDRESS}.',
  'The printer at {IP} stopped responding after firmware {VERSION}; last seen at {TIME}.',
  'Can you change my billing address to {ADDRESS}? My phone is {PHONE}.',
  'Refund {PRICE} to IBAN {IBAN}, account holder {NAME}.',
  'I was born on {DOB} and the portal says I am too young to register, can you check?',
  'Our CI leaked a token: {CRED} — please revoke it asap.',
  'My SSN is {SSN}, I need it removed from the tax form attached to {ORDER}.',
  // e-mails
  'Dear {TITLE} {SURNAME},\nthank you for your order of {QTY}. We will ship it on {DATE}.\nKind regards,\n{NAME}',
  'From: {EMAIL}\nTo: Billing team\nSubject: {ORDER}\nPlease charge {CARD} instead of the card on file.',
  'Hello {FIRST}, your appointment with {TITLE} {SURNAME} is confirmed for {DATE} at {TIME}.',
  'Please wire {PRICE} to {IBAN} before {DATE}. Thanks, {NAME}',
  'Hi team, {NAME} will take over the account. Reach her at {EMAIL} or {PHONE}.',
  'Attached is the signed form. DOB: {DOB}, national insurance number {NATID}.',
  'Our office moved to {ADDRESS}. Our new number is {PHONE}.',
  // chat messages
  'hey its {FIRST} again, still waiting on {ORDER} lol',
  'use this key for the staging box: {CRED}',
  'ssh fails from {IP} to {IP}, same error since {DATE}',
  'can u send it to {EMAIL}? thx',
  'my card {CARD} was declined twice for {PRICE}',
  'call me at {PHONE} after {TIME} pls',
  'the export for tenant {UUID} failed, commit {SHA}, job took {QTY}',
  // CRM notes
  'Spoke with {NAME} on {DATE}; date of birth {DOB} verified, ID {NATID}.',
  'Lead: {NAME}, {EMAIL}, {PHONE}. Interested in {PRODUCT}, budget {PRICE}.',
  'Escalated to {TITLE} {SURNAME}. Customer lives at {ADDRESS}.',
  'Identity check passed for {NAME}: birthday {DOB}, SSN {SSN}.',
  'Login from unusual IP {IP} for user {EMAIL}; password reset sent.',
  'Payment method updated: {CARD}. Previous IBAN {IBAN} removed.',
  'Note: {FIRST} prefers e-mail ({EMAIL}) over phone.',
  'api_key={CRED}\nregion=eu-west-1\nretries=3',
  'Authorization: Bearer {CRED}',
  'Contact {NAME} at {ADDRESS} regarding {ORDER}.',
  'Applicant {NAME}, d.o.b. {DOB}, passport pending.',
  // benign look-alikes only
  'Where is {ORDER}? It was placed on {DATE} and cost {PRICE}.',
  'After upgrading to {VERSION} the {PRODUCT} prints blank pages.',
  'Tracking number {TRACKING} shows delivered on {DATE} at {TIME}.',
  'Is the {PRODUCT} compatible with firmware {VERSION}? We print about {QTY} a month.',
  'Job {UUID} failed at {TIME}; see commit {SHA}.',
  'We bought {QTY} of {PRODUCT} for {PRICE} on {DATE}.',
  'Please cancel {ORDER} and {ORDER}; both were ordered on {DATE}.',
  'Since 2019 we have used the {PRODUCT}; the 2024 model costs {PRICE}.',
  'Serial {TRACKING}, running {VERSION}, error E-{QTY}.',
];

function fill(template: string, rng: Rng): LabeledText {
  let text = '';
  const spans: GoldSpan[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{([A-Z]+)\}/g)) {
    text += template.slice(last, m.index);
    last = m.index + m[0].length;
    const slot = m[1]!;
    if (slot === 'TITLE') {
      text += pick(rng, TITLES);
      continue;
    }
    const pii = PII_SLOTS[slot];
    const value = pii ? pii.render(rng) : BENIGN[slot]!(rng);
    if (pii) spans.push({ type: pii.type, start: text.length, end: text.length + value.length });
    text += value;
  }
  return { text: text + template.slice(last), spans };
}

const slotsOf = (template: string) => [...template.matchAll(/\{([A-Z]+)\}/g)].map((m) => m[1]!);

/**
 * For every class, `perClass` texts from templates holding that class (other slots in them add
 * more gold spans), plus `perClass` texts holding only benign look-alikes.
 */
export function generatePiiDataset(seed: number, perClass: number): LabeledText[] {
  const rng = mulberry32(seed);
  const classes = [...new Set(Object.values(PII_SLOTS).map((s) => s.type))];
  const out: LabeledText[] = [];
  for (const type of classes) {
    const templates = TEMPLATES.filter((t) => slotsOf(t).some((s) => PII_SLOTS[s]?.type === type));
    for (let i = 0; i < perClass; i++) out.push(fill(pick(rng, templates), rng));
  }
  const benign = TEMPLATES.filter((t) => slotsOf(t).every((s) => !PII_SLOTS[s]));
  for (let i = 0; i < perClass; i++) out.push(fill(pick(rng, benign), rng));
  return out;
}
