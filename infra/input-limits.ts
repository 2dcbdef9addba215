// What Postgres and Temporal can hold, as zod schemas every request contract (and the
// guardrail policy) builds on, so a value that would fail deep inside — a NUL in a `text`
// column, a lone surrogate in `jsonb`, JSON nested past what `JSON.stringify` can recurse
// through, a payload over Temporal's size limit — is a 400 or 413 naming its field instead.
// The limits show in /openapi.json (pattern, maxLength, x-max-depth, x-max-bytes).
import { z } from 'zod';

/**
 * Postgres `text` cannot hold NUL; `jsonb` refuses NUL and unpaired UTF-16 surrogates (and
 * JSON with lone surrogates is not valid UTF-8 on the wire to Temporal). With the `u` flag a
 * surrogate pair is one code point outside D800–DFFF, so only lone halves match.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this refuses
export const STORABLE_PATTERN = /^[^\u0000\uD800-\uDFFF]*$/u;
// eslint-disable-next-line no-control-regex -- as above
const UNSTORABLE = /[\u0000\uD800-\uDFFF]/u;
export const STORABLE_MESSAGE = 'must not contain NUL characters or unpaired surrogates';

/** A string Postgres and Temporal can store; `max` in UTF-16 code units, as zod counts. */
export const storableString = (max: number) => z.string().max(max).regex(STORABLE_PATTERN, STORABLE_MESSAGE);

/** Ids in paths: what Gatehouse mints (`task_…`, `apr_3`, `ing_…`), and what a workflow id may safely embed. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
export const idString = (max: number) =>
  z.string().min(1).max(max).regex(ID_PATTERN, 'letters, digits, "_", ".", ":" and "-" only, starting with a letter or digit');

/**
 * Nesting of a free-form JSON field (metadata, filter, tool arguments). Deeper than this is
 * never legitimate data, and it bounds the recursion of every JSON.stringify that later sees it.
 */
export const MAX_JSON_DEPTH = 32;
/** Nesting of a whole request body: a field's depth plus the few levels above it. */
export const MAX_BODY_DEPTH = MAX_JSON_DEPTH + 8;

/** Marks a zod issue the API answers with 413 (too large) rather than 400. */
export const TOO_LARGE = { httpStatus: 413 } as const;

export interface JsonProblem {
  path: (string | number)[];
  message: string;
  tooLarge?: boolean;
}

/**
 * The first reason `value` cannot be stored or sent: too deep, a key or string with NUL or a
 * lone surrogate, or more than `maxBytes` serialized. Iterative, so depth never costs stack.
 */
export function jsonProblem(value: unknown, maxDepth: number, maxBytes: number): JsonProblem | undefined {
  const stack: Array<{ v: unknown; depth: number; path: (string | number)[] }> = [{ v: value, depth: 0, path: [] }];
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return { path, message: STORABLE_MESSAGE };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return { path, message: `nested deeper than ${maxDepth} levels` };
    if (Array.isArray(v)) v.forEach((item, i) => stack.push({ v: item, depth: depth + 1, path: [...path, i] }));
    else {
      for (const [k, item] of Object.entries(v)) {
        if (UNSTORABLE.test(k)) return { path: [...path, k], message: `key ${STORABLE_MESSAGE}` };
        stack.push({ v: item, depth: depth + 1, path: [...path, k] });
      }
    }
  }
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (bytes > maxBytes) return { path: [], message: `${bytes} bytes serialized; at most ${maxBytes} accepted`, tooLarge: true };
  return undefined;
}

/** A free-form JSON object, bounded in depth and serialized size, with storable keys and strings. */
export function jsonObject(limits: { maxBytes: number; maxDepth?: number }) {
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  return z
    .record(z.string(), z.unknown())
    .superRefine((value, ctx) => {
      const problem = jsonProblem(value, maxDepth, limits.maxBytes);
      if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message, params: problem.tooLarge ? TOO_LARGE : undefined });
    })
    .meta({ 'x-max-depth': maxDepth, 'x-max-bytes': limits.maxBytes });
}

/**
 * Whether raw JSON text nests deeper than `max`, scanned without parsing: the parser (and
 * everything after it) never sees input that would overflow a recursive walk.
 */
export function jsonNestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
