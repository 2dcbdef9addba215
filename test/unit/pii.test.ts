import { describe, expect, it } from 'vitest';
import { detectPii } from '../../activities/guardrails/pii.js';
import type { PiiClass } from '../../activities/guardrails/types.js';

/** The [type, text] pairs found, for compact assertions. */
const found = (text: string, classes?: PiiClass[]) => detectPii(text, classes ? { classes } : {}).map((s) => [s.type, s.text]);
const typesIn = (text: string) => detectPii(text).map((s) => s.type);

describe('detectPii', () => {
  it('finds e-mail addresses with exact offsets', () => {
    const text = 'Reply to maria.garcia+billing@example.co.uk please.';
    const [email] = detectPii(text);
    expect(email).toMatchObject({ type: 'EMAIL_ADDRESS', start: 9, end: 43, text: 'maria.garcia+billing@example.co.uk' });
    expect(text.slice(email!.start, email!.end)).toBe(email!.text);
  });

  it('finds phone numbers in international and national formats', () => {
    for (const phone of ['+44 20 7946 0958', '0044 20 7946 0958', '+1 (415) 555-0132', '020 7946 0958', '415-555-0132', '+49 30 901820', '+33 6 12 34 56 78', '(212) 734-5678']) {
      const text = `Please call me on ${phone} tomorrow.`;
      expect(detectPii(text), phone).toEqual([expect.objectContaining({ type: 'PHONE_NUMBER', start: 18, end: 18 + phone.length })]);
    }
    expect(found('call 4155550132 after lunch')).toEqual([['PHONE_NUMBER', '4155550132']]);
    // Local numbers libphonenumber cannot place count when the text labels them.
    expect(found('Phone: 467 3395')).toEqual([['PHONE_NUMBER', '467 3395']]);
    expect(found('Desk: +1-903-240-4508x769')).toEqual([['PHONE_NUMBER', '+1-903-240-4508x769']]);
  });

  it('does not take order numbers, dates, years, prices or versions for phone numbers', () => {
    for (const text of [
      'Where is order 1001?',
      'Order 4155550132 was shipped.',
      'It was placed on 2024-03-12 at 10:30:00 and cost $1,299.00.',
      'We have used it since 2019; 12,500 pages printed.',
      'After the 2.3.1 update the Jet 5 printer is slow.',
      'Serial SN-0943-7773, invoice INV-2024-00123.',
      'Timestamp 2015-12-22 04:34:22 in the log.',
    ]) {
      expect(detectPii(text), text).toEqual([]);
    }
  });

  it('finds Luhn-valid card numbers and never reports them as phones', () => {
    expect(found('Charge 4111 1111 1111 1111 today')).toEqual([['CREDIT_CARD', '4111 1111 1111 1111']]);
    expect(found('amex 3782-822463-10005 on file')).toEqual([['CREDIT_CARD', '3782-822463-10005']]);
    expect(found('card 5555555555554444.')).toEqual([['CREDIT_CARD', '5555555555554444']]);
    expect(typesIn('Charge 4111 1111 1111 1112 today')).not.toContain('CREDIT_CARD'); // Luhn fails
  });

  it('finds IBANs grouped or compact, and checks the mod-97 digits', () => {
    expect(found('Pay DE89 3704 0044 0532 0130 00 now')).toEqual([['IBAN', 'DE89 3704 0044 0532 0130 00']]);
    expect(found('IBAN GB29NWBK60161331926819.')).toEqual([['IBAN', 'GB29NWBK60161331926819']]);
    expect(typesIn('IBAN GB28NWBK60161331926819.')).not.toContain('IBAN');
    expect(found('my iban is gb29nwbk60161331926819')).toEqual([['IBAN', 'gb29nwbk60161331926819']]);
  });

  it('finds national ids: US SSN by the SSA rules, UK NINO, Spanish DNI', () => {
    expect(detectPii('My SSN is 123-45-6789.')).toEqual([expect.objectContaining({ type: 'NATIONAL_ID', subtype: 'us_ssn', start: 10, end: 21 })]);
    expect(found('SSN 123456789 on the form')).toEqual([['NATIONAL_ID', '123456789']]);
    expect(found('reference 123456789 on the form')).toEqual([]); // compact needs the keyword
    for (const invalid of ['000-12-3456', '666-12-3456', '912-12-3456', '123-00-4567', '123-45-0000']) expect(found(`SSN ${invalid}`), invalid).toEqual([]);
    expect(detectPii('NI number AB 12 34 56 C')[0]).toMatchObject({ subtype: 'uk_nino', text: 'AB 12 34 56 C' });
    expect(found('NINO GB123456A')).toEqual([]); // GB is never issued
    expect(detectPii('DNI 12345678Z')[0]).toMatchObject({ subtype: 'es_dni', text: '12345678Z' });
    expect(found('DNI 12345678A')).toEqual([]); // wrong check letter
  });

  it('finds IPv4 and IPv6 addresses but not version numbers', () => {
    expect(found('blocked 192.168.1.20 and 2001:db8::8a2e:370:7334 today')).toEqual([
      ['IP_ADDRESS', '192.168.1.20'],
      ['IP_ADDRESS', '2001:db8::8a2e:370:7334'],
    ]);
    expect(found('version 1.2.3, build 10.4.2.1, 300.1.1.1 and meet at 10:30:00')).toEqual([]);
  });

  it('finds street addresses with city and postcode, but not a postcode alone', () => {
    expect(found('Send it to 221B Baker Street, London NW1 6XE please')).toEqual([['POSTAL_ADDRESS', '221B Baker Street, London NW1 6XE']]);
    expect(found('Ship to 1600 Pennsylvania Ave, Apt 4, Washington, DC 20500.')).toEqual([['POSTAL_ADDRESS', '1600 Pennsylvania Ave, Apt 4, Washington, DC 20500']]);
    expect(found('Our depot is in the NW1 6XE area.')).toEqual([]);
    expect(found('My new address is Koskikatu 25 B 12, 00100 Helsinki. Thanks')).toEqual([['POSTAL_ADDRESS', 'Koskikatu 25 B 12, 00100 Helsinki']]);
    expect(found('Please send it to Maria.')).toEqual([['PERSON', 'Maria']]);
  });

  it('finds person names, not product names or sentence-initial words', () => {
    expect(found('I spoke with Sofia Gonzalez and Mr. Tanaka yesterday.')).toEqual([
      ['PERSON', 'Sofia Gonzalez'],
      ['PERSON', 'Tanaka'],
    ]);
    expect(found('Hi, my name is Priya Raghunathan.')).toEqual([['PERSON', 'Priya Raghunathan']]);
    expect(found('Thanks, John')).toEqual([['PERSON', 'John']]);
    expect(found('the verses from Faina D. Yefremova were sung')).toEqual([['PERSON', 'Faina D. Yefremova']]);
    expect(found('Customer Chen García reports a jam.')).toEqual([['PERSON', 'Chen García']]);
    expect(found('I work for Aunt Bertha Inc and read Entertainment Weekly.')).toEqual([]);
    expect(found('My Jet 5 printer and the LX-200 sync with FleetManager. Please Mark the ticket solved.')).toEqual([]);
  });

  it('flags dates only with a birth context', () => {
    for (const date of ['1985-03-14', '14/03/1985', 'March 14, 1985', '14 March 1985']) {
      expect(found(`I was born on ${date}.`), date).toEqual([['DATE_OF_BIRTH', date]]);
    }
    expect(found('DOB: 03.04.1979')).toEqual([['DATE_OF_BIRTH', '03.04.1979']]);
    expect(found('The order of 14 March 2024 arrived on 2024-03-20.')).toEqual([]);
  });

  it('finds credentials by prefix and by entropy, not UUIDs, hashes or long words', () => {
    const cases: Array<[string, string]> = [
      ['sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z', 'openai_key'],
      ['ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8', 'github_token'],
      ['xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'slack_token'],
      ['AKIAIOSFODNN7EXAMPLE', 'aws_access_key_id'],
      ['AIzaSyD-1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6', 'google_api_key'],
      ['sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'stripe_key'],
      ['glpat-Ab1Cd2Ef3Gh4Ij5Kl6Mn', 'gitlab_token'],
      ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'jwt'],
      ['gh_0123456789ab_Q2xhdWRlIGlzIGEgZ3JlYXQgYXNzaXN0YW50IQabcde', 'gatehouse_key'],
    ];
    for (const [secret, subtype] of cases) {
      const spans = detectPii(`here is the key ${secret} thanks`);
      expect(spans, subtype).toEqual([expect.objectContaining({ type: 'CREDENTIAL', subtype, start: 16, end: 16 + secret.length })]);
    }
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----';
    expect(found(`key:\n${pem}\n`)).toEqual([['CREDENTIAL', pem]]);
    expect(detectPii('token: 9fJk2LmQ8xZp4RtW7vBn3CsD')[0]).toMatchObject({ subtype: 'high_entropy' });
    expect(found('api_key=9fJk2LmQ8xZp4RtW7vBn3CsD\nregion=eu-west-1')).toEqual([['CREDENTIAL', '9fJk2LmQ8xZp4RtW7vBn3CsD']]);
    expect(found('password: Tr0ub4dor&3 (please rotate)')).toEqual([['CREDENTIAL', 'Tr0ub4dor&3']]);
    expect(found('I forgot my password again, please reset it.')).toEqual([]);
    expect(found('DATABASE_URL=postgres://app:s3cret-pw@db.internal:5432/app')).toEqual([['CREDENTIAL', 's3cret-pw']]);
    expect(found('job 3f2c9a7e-4b1d-4e8a-9c6f-0a1b2c3d4e5f at commit 3f9a2c1e7b4d5f6a8b9c0d1e2f3a4b5c6d7e8f90 is supercalifragilisticexpialidocious')).toEqual([]);
  });

  it('returns sorted, non-overlapping spans and honours the class filter', () => {
    const text = 'Email jo.bloggs@example.com, call +44 20 7946 0958, card 4111-1111-1111-1111, born 1990-01-02.';
    const spans = detectPii(text);
    expect(spans.map((s) => s.type)).toEqual(['EMAIL_ADDRESS', 'PHONE_NUMBER', 'CREDIT_CARD', 'DATE_OF_BIRTH']);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
    for (const s of spans) expect(text.slice(s.start, s.end)).toBe(s.text);
    expect(found(text, ['PHONE_NUMBER'])).toEqual([['PHONE_NUMBER', '+44 20 7946 0958']]);
  });
});
