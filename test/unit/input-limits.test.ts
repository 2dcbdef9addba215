// What Postgres and Temporal can hold, checked without either: storable strings, bounded JSON,
// the raw-body nesting scan, and how a Temporal error maps to HTTP.
import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { assertFitsTemporal, temporalError } from '../../api/errors.js';
import { guardrailPolicySchema } from '../../activities/guardrails/policy.js';
import { jsonNestingExceeds, jsonObject, jsonProblem, storableString } from '../../infra/input-limits.js';

describe('storable strings', () => {
  const s = storableString(100);
  it('refuse NUL and unpaired surrogates, and accept surrogate pairs', () => {
    expect(s.safeParse('a\u0000b').success).toBe(false);
    expect(s.safeParse('a\ud800b').success).toBe(false);
    expect(s.safeParse('a\udc00').success).toBe(false);
    expect(s.safeParse('ok 😀 ünïcode').success).toBe(true);
  });
});

describe('bounded JSON', () => {
  it('names the path of the first problem, iteratively (no stack for depth)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonProblem({ a: deep }, 32, 1_000)).toMatchObject({ message: 'nested deeper than 32 levels' });
    expect(jsonProblem({ a: { b: ['x', 'y\u0000'] } }, 32, 1_000)).toMatchObject({ path: ['a', 'b', 1] });
    expect(jsonProblem({ ['k\ud800']: 1 }, 32, 1_000)).toMatchObject({ path: ['k\ud800'] });
    expect(jsonProblem({ a: 'x'.repeat(2_000) }, 32, 1_000)).toMatchObject({ tooLarge: true });
    expect(jsonProblem({ a: [1, { b: 'ok' }] }, 32, 1_000)).toBeUndefined();
  });
  it('marks an over-size field as a 413 issue', () => {
    const r = jsonObject({ maxBytes: 10 }).safeParse({ a: 'x'.repeat(20) });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ code: 'custom', params: { httpStatus: 413 } });
  });
  it('scans raw text for nesting, ignoring brackets inside strings and escapes', () => {
    expect(jsonNestingExceeds('[[[1]]]', 3)).toBe(false);
    expect(jsonNestingExceeds('[[[[1]]]]', 3)).toBe(true);
    expect(jsonNestingExceeds(`{"a":"${'['.repeat(100)}"}`, 3)).toBe(false);
    expect(jsonNestingExceeds(`{"a":"\\"${'{'.repeat(100)}"}`, 3)).toBe(false);
    expect(jsonNestingExceeds('['.repeat(5_000), 40)).toBe(true);
  });
});

describe('Temporal errors and limits', () => {
  it('maps RESOURCE_EXHAUSTED and "larger than max" to 413, anything else to 503', () => {
    const exhausted = new ServiceError('request failed', { cause: Object.assign(new Error('8 RESOURCE_EXHAUSTED: grpc: received message larger than max (4500000 vs. 4194304)'), { code: 8 /* gRPC RESOURCE_EXHAUSTED */ }) });
    expect(temporalError(exhausted)).toMatchObject({ statusCode: 413, code: 'payload_too_large' });
    expect(temporalError(new Error('Blob data size exceeds limit.'))).toMatchObject({ statusCode: 413 });
    expect(temporalError(new Error('Failure exceeds size limit.'))).toMatchObject({ statusCode: 413 });
    expect(temporalError(new Error('14 UNAVAILABLE: connection refused'))).toMatchObject({ statusCode: 503, code: 'unavailable' });
  });
  it('names the largest field of an input over the limit', () => {
    expect(() => assertFitsTemporal({ input: 'q', conversation: ['x'.repeat(2_000)] }, 'body', 1_000)).toThrow(/^body\.conversation: /);
    expect(() => assertFitsTemporal({ input: 'q' }, 'body', 1_000)).not.toThrow();
  });
});

describe('guardrail policy limits', () => {
  it('refuses what would break every task of the tenant, naming the field', () => {
    const r = guardrailPolicySchema.safeParse({ scope: { blockedTopics: [{ topic: 'x', phrases: ['p'.repeat(1_000_000)] }] } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['scope', 'blockedTopics', 0, 'phrases', 0]);
    expect(guardrailPolicySchema.safeParse({ handoff: { keyPhrases: Array.from({ length: 201 }, (_, i) => `k ${i}`) } }).success).toBe(false);
    expect(guardrailPolicySchema.safeParse({ scope: { blockedTopics: [{ topic: 'weather', phrases: ['weather forecast', 'rain'] }] } }).success).toBe(true);
  });
});
