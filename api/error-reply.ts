// One mapping from whatever a route or Fastify throws to the HTTP error the caller gets, and
// the bodies it is written in: Gatehouse's own `{ error: { code, message, details } }` on every
// route, OpenAI's `{ error: { message, type, param, code } }` on the OpenAI-compatible proxy's
// (routes/openai-proxy.ts), so both shapes carry the same statuses, codes and Retry-After.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { TOO_LARGE } from '../infra/input-limits.js';
import { ApiError, errorBody } from './errors.js';

/** How an error is written: the body for it (the status and headers are the error's own). */
export type ErrorShape = (err: ApiError) => unknown;

export const gatehouseErrorShape: ErrorShape = (err) => errorBody(err.code, err.message, err.details);

/** The error as an ApiError; undefined for one nobody anticipated (a 500, logged). */
export function apiErrorOf(err: FastifyError, req: FastifyRequest): ApiError | undefined {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const issues = err.validation.map((v) => {
      const path = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
      const tooLarge = (v.params as { params?: { httpStatus?: number } } | undefined)?.params?.httpStatus === TOO_LARGE.httpStatus;
      return { field: [err.validationContext, path].filter(Boolean).join('.'), message: v.message, tooLarge };
    });
    // A field over its size limit is a 413 (it could not be stored or sent); anything else a 400.
    const first = issues[0]!;
    const details = { issues: issues.map(({ field, message }) => ({ field, message })) };
    if (first.tooLarge) return new ApiError(413, 'payload_too_large', `${first.field}: ${first.message}`, details);
    return new ApiError(400, 'invalid_request', `${first.field}: ${first.message}`, details);
  }
  if (err instanceof ApiError) return err;
  if (isResponseSerializationError(err)) {
    req.log.error({ issues: err.cause.issues }, 'response did not match its schema');
    return undefined;
  }
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && err instanceof SyntaxError)) {
    return new ApiError(400, 'invalid_json', `body: ${err.message}`);
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    const code = err.statusCode === 413 ? 'payload_too_large' : err.statusCode === 415 ? 'unsupported_media_type' : 'bad_request';
    return new ApiError(err.statusCode, code, err.message);
  }
  req.log.error({ err }, 'unhandled error');
  return undefined;
}

/** Fastify's error handler, writing errors in `shape`. */
export function errorHandler(shape: ErrorShape) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const mapped = apiErrorOf(err, req) ?? new ApiError(500, 'internal', 'internal error');
    if (mapped.headers) reply.headers(mapped.headers);
    return reply.code(mapped.statusCode).send(shape(mapped));
  };
}

/** OpenAI's error types by status: what its clients and their users match on. */
function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/**
 * The request field an error is about, as OpenAI names it (`messages`, `model`, `tool_choice`):
 * a validation issue's path without its `body.`, or the field a route named in `details.field`.
 */
function paramOf(err: ApiError): string | null {
  const details = err.details as { field?: unknown; issues?: Array<{ field?: unknown }> } | undefined;
  const field = details?.field ?? details?.issues?.[0]?.field;
  return typeof field === 'string' && field ? field.replace(/^body\.?/, '') || null : null;
}

/** OpenAI's error body, so its clients' APIError has message, type, param and code; Gatehouse's details ride along. */
export const openAiErrorShape = (err: ApiError) => ({
  error: { message: err.message, type: openAiErrorType(err.statusCode), param: paramOf(err), code: err.code, ...(err.details === undefined ? {} : { details: err.details }) },
});
