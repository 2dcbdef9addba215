// The effective configuration, fit for a log line: every secret replaced. Redaction is by
// shape, not by a list of today's secrets, so a setting added tomorrow is covered without
// anyone remembering this file: a string under a name that sounds secret, any binary (key
// material), and the credentials of any URL (user:password@, ?api_key=…) anywhere.
import type { Config } from './config.js';

export const REDACTED = '[redacted]';

/** Names whose string values are secrets: apiKey, devApiKey, clientSecret, smtpPassword, sessionToken… */
const SECRET_NAME = /key|secret|passw|token|credential|authorization|cookie/i;
/** …except identifiers and variable names, which say which secret without being it (currentKeyId, apiKeyEnv). */
const NAMES_A_SECRET = /(Id|Ids|Env)$/;
/** URL query parameters that carry credentials (?api_key=, ?token=, ?sig=). */
const SECRET_QUERY = /([?&][^=&#\s]*(?:key|secret|passw|token|sig|auth)[^=&#\s]*=)[^&#\s]*/gi;

/** loadConfig's result with every secret replaced by `[redacted]`: what `effective configuration` logs. */
export function redactedConfig(config: Config): unknown {
  return redactSecrets(config);
}

export function redactSecrets(value: unknown, name = ''): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return SECRET_NAME.test(name) && !NAMES_A_SECRET.test(name) ? REDACTED : withoutUrlCredentials(value);
  if (value instanceof Uint8Array) return REDACTED;
  if (value instanceof Map) return redactSecrets(Object.fromEntries(value), name);
  if (value instanceof Set) return redactSecrets([...value], name);
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, name));
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, k)]));
  // Functions, symbols, bigints: nothing a configuration should log.
  return REDACTED;
}

function withoutUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, `$1${REDACTED}@`).replace(SECRET_QUERY, `$1${REDACTED}`);
}
