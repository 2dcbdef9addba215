// Retrying one deployment before the chain moves on. Only what a provider says will pass (a 429,
// a 5xx) is retried, a bounded number of times: waiting what the provider asked for (its
// Retry-After) when it said, else an exponential backoff with full jitter so that many workers
// do not come back at the same instant. A Retry-After longer than the gateway will wait means
// "not this deployment for now": the chain moves on at once instead of holding the activity.
import type { ResilienceSettings } from '../../../infra/config.js';
import type { AttemptOutcome } from '../types.js';

const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 2_000;

/** How long to wait before retrying the same deployment, or undefined when it should not be retried. */
export function retryDelayMs(
  outcome: AttemptOutcome,
  err: unknown,
  retriesSoFar: number,
  settings: Pick<ResilienceSettings, 'retries' | 'maxRetryWaitMs'>,
  random: () => number = Math.random,
): number | undefined {
  if (outcome !== 'rate_limited' && outcome !== 'server_error') return undefined;
  if (retriesSoFar >= settings.retries) return undefined;
  const asked = retryAfterMs(err);
  if (asked !== undefined) return asked <= settings.maxRetryWaitMs ? asked : undefined;
  return Math.min(settings.maxRetryWaitMs, random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retriesSoFar));
}

/**
 * The wait a provider's error asks for: `retry-after-ms` (OpenAI's), else `retry-after` in seconds
 * (fractions allowed) or as an HTTP date. The `openai` and `@anthropic-ai/sdk` errors carry the
 * response headers; `@google/genai`'s ApiError does not, so Gemini's retries use the backoff.
 */
export function retryAfterMs(err: unknown, now = Date.now()): number | undefined {
  const ms = header(err, 'retry-after-ms');
  if (ms !== undefined && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = header(err, 'retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function header(err: unknown, name: string): string | undefined {
  const headers = typeof err === 'object' && err !== null ? (err as { headers?: unknown }).headers : undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  if (typeof headers === 'object' && headers !== null) {
    const value = (headers as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

/** Waits, unless the call is cancelled first: then it rejects with the signal's reason, as the SDKs do. */
export function waitOrAbort(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
