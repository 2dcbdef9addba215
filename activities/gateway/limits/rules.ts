// The rules a tenant's admin sets — model allow-lists, budgets, rate limits — and which of them
// apply to one caller. Stored in model_access, budgets and rate_limits (migration 006); read
// fresh for every call, so a change holds at once in every process.
import {
  EVERY_SUBJECT,
  type AccessScope,
  type BudgetPeriod,
  type BudgetScope,
  type RateLimitScope,
} from '../../../contracts/gateway-limits.js';
import type { Db } from '../../../infra/db/pool.js';

/** Who a model call is for: resolved from the task's row, or handed in by a caller outside a task. */
export interface Caller {
  tenantId: string;
  keyId?: string;
  userId?: string;
  application?: string;
  /** The task whose budget the call counts toward: a plan's sub-task counts toward its root task. */
  taskId?: string;
}

export interface AccessList {
  scope: AccessScope;
  subject: string;
  models: string[];
}
export interface BudgetRule {
  scope: BudgetScope;
  subject: string;
  period: BudgetPeriod;
  usd: number | null;
  tokens: number | null;
}
export interface RateRule {
  scope: RateLimitScope;
  subject: string;
  rpm: number | null;
  tpm: number | null;
}
export interface TenantRules {
  access: AccessList[];
  budgets: BudgetRule[];
  rates: RateRule[];
}

/** A tenant-wide rule's subject. */
export const TENANT_SUBJECT = '';

/** One round trip for all three kinds: most tenants have none, and then a call costs this query only. */
export async function loadRules(db: Db, tenantId: string): Promise<TenantRules> {
  const { rows } = await db.query<{ kind: 'access' | 'budget' | 'rate'; scope: string; subject: string; rule: Record<string, unknown> }>(
    `SELECT 'access' AS kind, scope, subject, jsonb_build_object('models', models) AS rule FROM model_access WHERE tenant_id = $1
     UNION ALL
     SELECT 'budget', scope, subject, jsonb_build_object('period', period, 'usd', limit_usd, 'tokens', limit_tokens) FROM budgets WHERE tenant_id = $1
     UNION ALL
     SELECT 'rate', scope, subject, jsonb_build_object('rpm', rpm, 'tpm', tpm) FROM rate_limits WHERE tenant_id = $1`,
    [tenantId],
  );
  const rules: TenantRules = { access: [], budgets: [], rates: [] };
  for (const r of rows) {
    if (r.kind === 'access') rules.access.push({ scope: r.scope as AccessScope, subject: r.subject, models: r.rule.models as string[] });
    else if (r.kind === 'budget') {
      rules.budgets.push({ scope: r.scope as BudgetScope, subject: r.subject, period: r.rule.period as BudgetPeriod, usd: num(r.rule.usd), tokens: num(r.rule.tokens) });
    } else rules.rates.push({ scope: r.scope as RateLimitScope, subject: r.subject, rpm: num(r.rule.rpm), tpm: num(r.rule.tpm) });
  }
  return rules;
}

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** The caller's id in a scope, or undefined when the caller has none there (a backend's key has no user). */
function subjectOf(caller: Caller, scope: AccessScope | BudgetScope | RateLimitScope): string | undefined {
  switch (scope) {
    case 'tenant':
      return TENANT_SUBJECT;
    case 'application':
      return caller.application;
    case 'user':
      return caller.userId;
    case 'key':
      return caller.keyId;
    case 'task':
      return caller.taskId;
    case 'model':
      return undefined;
  }
}

/** The allow-lists that bind this caller: a model must be on every one of them. */
export function accessListsFor(rules: TenantRules, caller: Caller): AccessList[] {
  return rules.access.filter((l) => l.subject === subjectOf(caller, l.scope));
}

/** The first list that leaves `model` out, or undefined when every list names it. */
export function refusingList(lists: AccessList[], model: string): AccessList | undefined {
  return lists.find((l) => !l.models.includes(model));
}

/** A budget that applies, with the real subject it counts (never '*'). */
export interface AppliedBudget extends BudgetRule {
  counted: string;
}

/** Every budget the call must fit: for each scope and period, the subject's own row, else the scope's '*' row. */
export function budgetsFor(rules: TenantRules, caller: Caller): AppliedBudget[] {
  const applied: AppliedBudget[] = [];
  for (const b of rules.budgets) {
    const id = subjectOf(caller, b.scope);
    if (id === undefined) continue;
    if (b.scope === 'tenant' || b.subject === id) applied.push({ ...b, counted: id });
    else if (b.subject === EVERY_SUBJECT && !rules.budgets.some((o) => o.scope === b.scope && o.period === b.period && o.subject === id)) {
      applied.push({ ...b, counted: id });
    }
  }
  return applied;
}

export interface AppliedRate extends RateRule {
  counted: string;
}

/** Every rate limit the call counts in: the tenant's, its key's (own or '*'), its model's (own or '*'). */
export function ratesFor(rules: TenantRules, caller: Caller, model: string): AppliedRate[] {
  const idOf = (scope: RateLimitScope) => (scope === 'model' ? model : subjectOf(caller, scope));
  return rules.rates.flatMap((r) => {
    const id = idOf(r.scope);
    if (id === undefined) return [];
    if (r.scope === 'tenant' || r.subject === id) return [{ ...r, counted: id }];
    if (r.subject === EVERY_SUBJECT && !rules.rates.some((o) => o.scope === r.scope && o.subject === id)) return [{ ...r, counted: id }];
    return [];
  });
}
