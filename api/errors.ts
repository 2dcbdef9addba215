// Errors the API answers with: always `{ error: { code, message, details } }`.
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
