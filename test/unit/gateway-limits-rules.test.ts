// Which of a tenant's rules apply to a caller, when a window resets, and how the workflow
// recognises the gateway's refusals: pure functions, no database.
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { accessListsFor, budgetsFor, periodRetryAfter, ratesFor, refusingList, rootTaskId, type TenantRules } from '../../activities/gateway/limits/index.js';
import { gatewayRefusalOf } from '../../workflows/agent/gateway-limits.js';

const rules: TenantRules = {
  access: [
    { scope: 'tenant', subject: '', models: ['a', 'b', 'c'] },
    { scope: 'application', subject: 'bot', models: ['a'] },
    { scope: 'user', subject: 'u1', models: ['a', 'b'] },
  ],
  budgets: [
    { scope: 'tenant', subject: '', period: 'month', usd: 100, tokens: null },
    { scope: 'key', subject: '*', period: 'day', usd: 1, tokens: null },
    { scope: 'key', subject: 'vip', period: 'day', usd: 50, tokens: null },
    { scope: 'task', subject: '*', period: 'total', usd: null, tokens: 10_000 },
  ],
  rates: [
    { scope: 'key', subject: '*', rpm: 60, tpm: null },
    { scope: 'model', subject: 'a', rpm: null, tpm: 1000 },
  ],
};

describe('gateway rules', () => {
  it('a model must be on every allow-list that applies to the caller', () => {
    const bot = accessListsFor(rules, { tenantId: 't', application: 'bot', userId: 'u1' });
    expect(bot.map((l) => l.scope)).toEqual(['tenant', 'application', 'user']);
    expect(refusingList(bot, 'a')).toBeUndefined();
    expect(refusingList(bot, 'b')).toMatchObject({ scope: 'application', subject: 'bot' });
    expect(refusingList(accessListsFor(rules, { tenantId: 't' }), 'c')).toBeUndefined();
  });

  it("a subject's own budget replaces the scope's '*' one; every scope's budget applies, nested", () => {
    const vip = budgetsFor(rules, { tenantId: 't', keyId: 'vip', taskId: 'task_1' });
    expect(vip.map((b) => [b.scope, b.counted, b.usd ?? b.tokens])).toEqual([
      ['tenant', '', 100],
      ['key', 'vip', 50],
      ['task', 'task_1', 10_000],
    ]);
    // No key (a call outside a task): the tenant's budget still holds.
    expect(budgetsFor(rules, { tenantId: 't' }).map((b) => b.scope)).toEqual(['tenant']);
    expect(budgetsFor(rules, { tenantId: 't', keyId: 'k2' }).find((b) => b.scope === 'key')).toMatchObject({ counted: 'k2', usd: 1 });
  });

  it("rate limits count per key and per model, each subject its own", () => {
    expect(ratesFor(rules, { tenantId: 't', keyId: 'k' }, 'a').map((r) => `${r.scope}:${r.counted}`)).toEqual(['key:k', 'model:a']);
    expect(ratesFor(rules, { tenantId: 't' }, 'b')).toEqual([]);
  });

  it('a sub-task counts toward its task; windows reset at the next UTC day or month, a total never', () => {
    expect(rootTaskId('task_abc.sub_2')).toBe('task_abc');
    const now = new Date('2026-12-31T23:59:30Z');
    expect(periodRetryAfter('day', now)).toBe(30);
    expect(periodRetryAfter('month', now)).toBe(30);
    expect(periodRetryAfter('total', now)).toBeNull();
  });

  it("the workflow recognises the gateway's budget and rate-limit refusals, and nothing else", () => {
    const inActivity = (cause: Error) => new ActivityFailure('activity failed', 'decideNextStep', '3', RetryState.NON_RETRYABLE_FAILURE, 'worker', cause);
    const rate = ApplicationFailure.create({ type: 'RateLimited', nonRetryable: true, details: [{ limit: 'rate:key:k:rpm', retryAfterSeconds: 12 }] });
    const budget = ApplicationFailure.create({ type: 'BudgetExceeded', nonRetryable: true, details: [{ limit: 'budget:tenant:tenant:day:usd', retryAfterSeconds: 3600 }] });
    expect(gatewayRefusalOf(inActivity(rate))).toEqual({ kind: 'rate', limit: 'rate:key:k:rpm', retryAfterSeconds: 12 });
    expect(gatewayRefusalOf(inActivity(budget))).toMatchObject({ kind: 'budget', limit: 'budget:tenant:tenant:day:usd' });
    expect(gatewayRefusalOf(inActivity(ApplicationFailure.create({ type: 'ModelNotAllowed', nonRetryable: true })))).toBeUndefined();
    expect(gatewayRefusalOf(inActivity(ApplicationFailure.create({ type: 'RateLimited', details: ['garbage'] })))).toBeUndefined();
    expect(gatewayRefusalOf(new Error('boom'))).toBeUndefined();
  });
});
