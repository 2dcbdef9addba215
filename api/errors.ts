// Errors the API answers with: always `{ error: { code, message, details } }`.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const conflict = (code: string, message: string, details?: unknown) => new ApiError(409, code, message, details);
export const unavailable = (what: string, cause: unknown) =>
  new ApiError(503, 'unavailable', `${what} is unavailable, try again shortly`, { cause: cause instanceof Error ? cause.message : String(cause) });

/** gRPC RESOURCE_EXHAUSTED: what Temporal answers a message over its size limit with. */
const GRPC_RESOURCE_EXHAUSTED = 8;
const TOO_LARGE_MESSAGE = /larger than max|exceeds size limit|size exceeds limit|BlobSizeLimit|message too large|RESOURCE_EXHAUSTED/i;

/**
 * What a failed Temporal call means for the caller: a payload over Temporal's size limit
 * (~2 MB per blob, ~4 MB per gRPC message) is the request's fault, a 413; anything else is an
 * outage, a 503. The API checks sizes up front (`assertFitsTemporal`); this is the backstop.
 */
export function temporalError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  for (let e: unknown = err, i = 0; e && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (code === GRPC_RESOURCE_EXHAUSTED || (e instanceof Error && TOO_LARGE_MESSAGE.test(e.message))) {
      return new ApiError(413, 'payload_too_large', 'the request is larger than Temporal accepts for one task; send less');
    }
  }
  return unavailable('Temporal', err);
}

/**
 * Temporal refuses a payload over 2 MB (and a gRPC message over 4 MB) only after the client
 * has retried for ~40 s. Workflow inputs and Update arguments are measured first instead:
 * over `maxBytes` serialized is a 413 naming the largest field.
 */
export const MAX_TEMPORAL_INPUT_BYTES = 1024 * 1024;

export function assertFitsTemporal(fields: Record<string, unknown>, prefix: string, maxBytes = MAX_TEMPORAL_INPUT_BYTES): void {
  const sizes = Object.entries(fields).map(([name, value]) => [name, value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8')] as const);
  const total = sizes.reduce((sum, [, n]) => sum + n, 0);
  if (total <= maxBytes) return;
  const [largest] = [...sizes].sort((a, b) => b[1] - a[1])[0]!;
  const field = [prefix, largest].filter(Boolean).join('.');
  throw new ApiError(413, 'payload_too_large', `${field}: the request serializes to ${total} bytes; a task accepts at most ${maxBytes}`, { field, bytes: total, maxBytes });
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/**
 * How a workflow's refusal of an Update (an ApplicationFailure thrown by its validator, by
 * type) maps to HTTP; undefined when `err` is not an Update failure.
 */
export function updateRefusal(err: unknown, byType: Record<string, [number, string]>): ApiError | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type && byType[cause.type]) {
    const [status, code] = byType[cause.type]!;
    return new ApiError(status, code, cause.message);
  }
  return new ApiError(500, 'update_failed', cause?.message ?? err.message);
}
