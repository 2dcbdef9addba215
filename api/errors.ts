// Errors the API answers with: always `{ error: { code, message, details } }`.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { BUDGET_EXCEEDED, MODEL_NOT_ALLOWED, RATE_LIMITED, type LimitRefusal, type ModelRefusal } from '../contracts/gateway-limits.js';
import { updateRefusalCode, type UpdateRefusalCode } from '../contracts/refusals.js';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Response headers that go with the error: a 429's Retry-After. */
    readonly headers?: Record<string, string>,
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

/** The HTTP status and error code of each way a workflow refuses an Update. */
const UPDATE_REFUSAL_HTTP = {
  ApprovalNotFound: [404, 'not_found'],
  ApprovalAlreadyDecided: [409, 'already_decided'],
  ArgumentsHashMismatch: [409, 'arguments_changed'],
  ApprovalForbidden: [403, 'forbidden'],
  TaskFinished: [409, 'task_finished'],
  NothingToReview: [409, 'nothing_to_review'],
  ReviewForbidden: [403, 'forbidden'],
  InvalidArguments: [400, 'invalid_request'],
} satisfies Record<UpdateRefusalCode, [number, string]>;

/**
 * How a workflow's refusal of an Update (an ApplicationFailure thrown by its validator, its
 * type one of contracts/refusals.ts) maps to HTTP; undefined when `err` is not an Update
 * failure, a 500 for a failure no validator throws.
 */
export function updateRefusal(err: unknown): ApiError | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    const refusal = updateRefusalCode.safeParse(cause.type);
    if (refusal.success) {
      const [status, code] = UPDATE_REFUSAL_HTTP[refusal.data];
      return new ApiError(status, code, cause.message);
    }
  }
  return new ApiError(500, 'update_failed', cause?.message ?? err.message);
}

/**
 * The gateway's refusals (contracts/gateway-limits.ts) as HTTP: a model off the caller's
 * allow-list is a 403 naming it; a budget or rate limit a 429 naming the limit, with
 * Retry-After when it resets by itself. Undefined for any other failure.
 */
export function gatewayRefusal(failure: unknown): ApiError | undefined {
  if (!(failure instanceof ApplicationFailure)) return undefined;
  const details = failure.details?.[0];
  if (failure.type === MODEL_NOT_ALLOWED) return new ApiError(403, 'model_not_allowed', failure.message, details as ModelRefusal);
  if (failure.type !== BUDGET_EXCEEDED && failure.type !== RATE_LIMITED) return undefined;
  const refusal = details as LimitRefusal;
  const code = failure.type === BUDGET_EXCEEDED ? 'budget_exceeded' : 'rate_limited';
  const headers = refusal.retryAfterSeconds === null ? undefined : { 'retry-after': String(refusal.retryAfterSeconds) };
  return new ApiError(429, code, failure.message, refusal, headers);
}
