// The gateway's limits, called before and after every model call: who the caller is, which
// models it may use (allow-lists), and whether the call fits its budgets and rate limits —
// reserved before the call, settled to the real usage after (ledger.ts). Every key is held to
// them, admin keys included; a refusal is a non-retryable ApplicationFailure whose type the
// workflows recognise (contracts/gateway-limits.ts).
import { ApplicationFailure } from '@temporalio/common';
import {
  BUDGET_EXCEEDED,
  MODEL_NOT_ALLOWED,
  RATE_LIMITED,
  type LimitRefusal,
  type ModelRefusal,
} from '../../../contracts/gateway-limits.js';
import type { ModelSpec } from '../../../infra/config.js';
import type { Db } from '../../../infra/db/pool.js';
import type { CallContext, Usage } from '../types.js';
import { attemptKey } from './attempt-key.js';
import { exhaustedLimit, reserve, settle, type Estimate } from './ledger.js';
import { accessListsFor, budgetsFor, loadRules, ratesFor, refusingList, type Caller, type TenantRules } from './rules.js';

/** A call let through: the models it may walk, its context with the caller filled in, and how to settle it. */
export interface Admission {
  chain: ModelSpec[];
  context: CallContext;
  settle(usage: Usage | undefined): Promise<void>;
}

/** A task's root: a plan's sub-task (`<task>.<sub-task>`) counts toward the task that started it. */
export const rootTaskId = (taskId: string) => taskId.split('.')[0]!;

export class GatewayLimits {
  /** Who started each task: written once by the API, never changed. */
  private readonly taskCallers = new Map<string, Omit<Caller, 'tenantId' | 'taskId'>>();

  constructor(private readonly db: Db) {}

  async admit(ctx: CallContext, chain: ModelSpec[], requested: string | undefined, estimate: (spec: ModelSpec) => Estimate): Promise<Admission> {
    if (!ctx.tenantId) return { chain, context: ctx, settle: async () => {} };
    const caller = await this.callerOf({ ...ctx, tenantId: ctx.tenantId });
    const context: CallContext = { ...ctx, keyId: caller.keyId, userId: caller.userId, application: caller.application };
    const rules = await loadRules(this.db, caller.tenantId);

    const lists = accessListsFor(rules, caller);
    const allowed = chain.filter((spec) => !refusingList(lists, spec.name));
    // The model asked for must be allowed; a fallback that is not is skipped.
    const refused = requested ? (allowed[0]?.name === requested ? undefined : requested) : allowed.length ? undefined : chain[0]?.name;
    if (refused) throw modelNotAllowed(refused, refusingList(lists, refused)!);

    // The estimate is the dearest model the chain may fall back to: a fallback never overspends its reservation.
    const worst = () => {
      const estimates = allowed.map(estimate);
      return { usd: Math.max(...estimates.map((e) => e.usd)), tokens: Math.max(...estimates.map((e) => e.tokens)) };
    };
    const held = await this.hold(caller, rules, allowed[0]!.name, ctx.requestId, worst);
    return { chain: allowed, context, settle: held };
  }

  /**
   * A call that is not a chat — embeddings — held to the caller's budgets and rate limits as a
   * chat is, under the same attempt key rules. No allow-list: the embedder is the deployment's
   * own, not a registry model a list could name. Model-scoped rate limits apply by `model`.
   */
  async admitUsage(ctx: CallContext & { tenantId: string }, model: string, estimate: Estimate): Promise<Omit<Admission, 'chain'>> {
    const caller = await this.callerOf(ctx);
    const context: CallContext = { ...ctx, keyId: caller.keyId, userId: caller.userId, application: caller.application };
    const rules = await loadRules(this.db, caller.tenantId);
    return { context, settle: await this.hold(caller, rules, model, ctx.requestId, () => estimate) };
  }

  /** Reserves `estimate` in every budget and rate limit that applies; returns how to settle it. */
  private async hold(caller: Caller, rules: TenantRules, model: string, requestId: string | undefined, estimate: () => Estimate): Promise<Admission['settle']> {
    const budgets = budgetsFor(rules, caller);
    const rates = ratesFor(rules, caller, model);
    if (!budgets.length && !rates.length) return async () => {};
    const key = attemptKey(requestId);
    const outcome = await reserve(this.db, { tenantId: caller.tenantId, key, estimate: estimate(), budgets, rates });
    if (!outcome.ok) throw limitRefused(outcome);
    return (usage) => settle(this.db, key.id, usage ? { usd: usage.costUsd, tokens: usage.inputTokens + usage.outputTokens } : { usd: 0, tokens: 0 });
  }

  /**
   * What would refuse a call by `caller` to `model` (or to any model, for limits) right now,
   * counting nothing: the API asks before it starts a task. A model is checked only when named.
   */
  async refusalFor(caller: Caller, model: string | undefined): Promise<ApplicationFailure | undefined> {
    const rules = await loadRules(this.db, caller.tenantId);
    if (model) {
      const list = refusingList(accessListsFor(rules, caller), model);
      if (list) return modelNotAllowed(model, list);
    }
    // Rate limits per model apply only to the model named; the task's own budget does not exist yet.
    const budgets = budgetsFor(rules, { ...caller, taskId: undefined });
    const rates = ratesFor(rules, caller, model ?? '').filter((r) => r.scope !== 'model' || model);
    if (!budgets.length && !rates.length) return undefined;
    const outcome = await exhaustedLimit(this.db, { tenantId: caller.tenantId, budgets, rates });
    return outcome.ok ? undefined : limitRefused(outcome);
  }

  /** The caller handed in, else the one who started the task, else the tenant alone. */
  private async callerOf(ctx: CallContext & { tenantId: string }): Promise<Caller> {
    const taskId = ctx.taskId ? rootTaskId(ctx.taskId) : undefined;
    if (ctx.keyId || !taskId) return { tenantId: ctx.tenantId, keyId: ctx.keyId, userId: ctx.userId, application: ctx.application, taskId };
    let started = this.taskCallers.get(taskId);
    if (!started) {
      const { rows } = await this.db.query<{ key_id: string | null; user_id: string | null; application: string | null }>(
        'SELECT key_id, user_id, application FROM tasks WHERE id = $1 AND tenant_id = $2',
        [taskId, ctx.tenantId],
      );
      const r = rows[0];
      started = { keyId: r?.key_id ?? undefined, userId: r?.user_id ?? undefined, application: r?.application ?? undefined };
      if (r) {
        if (this.taskCallers.size > 10_000) this.taskCallers.clear();
        this.taskCallers.set(taskId, started);
      }
    }
    return { tenantId: ctx.tenantId, ...started, taskId };
  }
}

function modelNotAllowed(model: string, list: { scope: string; subject: string }): ApplicationFailure {
  const details: ModelRefusal = { model, list: `access:${list.scope}${list.subject ? `:${list.subject}` : ''}` };
  return ApplicationFailure.create({ message: `model "${model}" is not allowed for this caller (${details.list})`, type: MODEL_NOT_ALLOWED, nonRetryable: true, details: [details] });
}

function limitRefused(r: LimitRefusal): ApplicationFailure {
  const rate = r.limit.startsWith('rate:');
  const when = r.retryAfterSeconds === null ? 'it does not reset by itself' : `retry in ${r.retryAfterSeconds} s`;
  return ApplicationFailure.create({
    message: `${rate ? 'rate limit' : 'budget'} ${r.limit} reached: ${when}`,
    type: rate ? RATE_LIMITED : BUDGET_EXCEEDED,
    nonRetryable: true,
    details: [{ limit: r.limit, retryAfterSeconds: r.retryAfterSeconds } satisfies LimitRefusal],
  });
}
