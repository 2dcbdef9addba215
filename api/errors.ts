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
