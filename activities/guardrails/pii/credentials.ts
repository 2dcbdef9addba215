// Secrets: API keys and tokens with a vendor prefix (certain: score 0.95), private-key blocks,
// passwords written after "password:", and other high-entropy strings (a guess: scored lower,
// and only taken standalone when they look random enough).
import type { PiiSpan } from '../types.js';
import { contextNear, matches, span } from './span.js';

const PREFIXED: Array<{ subtype: string; pattern: RegExp }> = [
  { subtype: 'private_key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----/g },
  { subtype: 'anthropic_key', pattern: /(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,}/g },
  { subtype: 'openai_key', pattern: /(?<![\w-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g },
  { subtype: 'github_token', pattern: /(?<![\w])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/g },
  { subtype: 'slack_token', pattern: /(?<![\w-])xox[abposr]-[A-Za-z0-9-]{10,}/g },
  { subtype: 'aws_access_key_id', pattern: /(?<![\w])(?:AKIA|ASIA)[A-Z0-9]{16}(?![\w])/g },
  { subtype: 'google_api_key', pattern: /(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])/g },
  { subtype: 'stripe_key', pattern: /(?<![\w])(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}/g },
  { subtype: 'gitlab_token', pattern: /(?<![\w-])glpat-[A-Za-z0-9_-]{20,}/g },
  { subtype: 'jwt', pattern: /(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  // Gatehouse's own API keys (api/auth.ts): gh_<12 hex>_<32 bytes base64url>.
  { subtype: 'gatehouse_key', pattern: /(?<![\w])gh_[0-9a-f]{12}_[A-Za-z0-9_-]{43}(?![\w-])/g },
];

export function detectPrefixedSecrets(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const { subtype, pattern } of PREFIXED) {
    for (const m of matches(text, pattern)) found.push(span('CREDENTIAL', text, m.index, m.index + m[0].length, 'prefix', 0.95, subtype));
  }
  return found;
}

// postgres://user:s3cret@db:5432/app — the password in a URL's userinfo. Scored above an
// e-mail address so "s3cret@db.internal" is not reported as one.
const URL_PASSWORD = /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:([^\s@/]+)@/gi;

export function detectUrlPasswords(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, URL_PASSWORD)) {
    const start = m.index + m[0].length - 1 - m[1]!.length;
    found.push(span('CREDENTIAL', text, start, start + m[1]!.length, 'url', 0.97, 'url_password'));
  }
  return found;
}

const PASSWORD = /\b(?:password|passwd|pwd|passphrase|pin code)\s*(?:is|was|=|:)?\s*[:=]?\s*["'`]?([^\s"'`]{6,64})/gi;

export function detectPasswords(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, PASSWORD)) {
    const value = m[1]!.replace(/[.,;:!?)]+$/, '');
    // "password reset", "password is incorrect": a real password has a digit or a symbol.
    if (value.length < 6 || !/[\d\W_]/.test(value)) continue;
    const start = m.index + m[0].length - m[1]!.length;
    found.push(span('CREDENTIAL', text, start, start + value.length, 'keyword', 0.85, 'password'));
  }
  return found;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

const TOKEN = /(?<![\w+/=-])[A-Za-z0-9+/_=-]{20,}(?![\w+/=-])/g;
const SECRET_WORDS = /\b(?:key|token|secret|password|passwd|pwd|bearer|credential|credentials|api[_ -]?key|auth|authorization|apikey|access)\b/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]+$/i;

export function detectHighEntropyStrings(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, TOKEN)) {
    // "api_key=AbC…": the secret is what follows the assignment ('=' is otherwise base64 padding).
    const assignment = /^[A-Za-z_][\w.-]*=(?=[^=])/.exec(m[0])?.[0].length ?? 0;
    const value = m[0].slice(assignment);
    const start = m.index + assignment;
    if (value.length < 20) continue;
    if (UUID.test(value)) continue;
    const classes = Number(/[a-z]/.test(value)) + Number(/[A-Z]/.test(value)) + Number(/\d/.test(value));
    if (classes < 2 || !/\d/.test(value)) continue; // long words, CamelCase and snake_case names
    const keyword = contextNear(text, start, start + value.length, SECRET_WORDS, 30) || SECRET_WORDS.test(m[0].slice(0, assignment));
    const entropy = shannonEntropy(value);
    // Hex digests (commit ids, checksums) are common in support text; only near a secret word.
    if (HEX.test(value) && !keyword) continue;
    const standalone = classes === 3 && value.length >= 24 && entropy >= 4.0;
    if (!(keyword ? entropy >= 3.3 : standalone)) continue;
    found.push(span('CREDENTIAL', text, start, start + value.length, 'entropy', keyword ? 0.75 : 0.6, 'high_entropy'));
  }
  return found;
}
