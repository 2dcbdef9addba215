// Setting and reading a tenant's rules and spend: what the API's /v1/gateway/access,
// /v1/budgets, /v1/rate-limits, /v1/usage and /v1/gateway/prompt-cache routes call. Every
// statement is scoped to the tenant.
import { usageGroup, type AccessScope, type BudgetPeriod, type BudgetScope, type RateLimitScope, type UsageGroup } from '../../../contracts/gateway-limits.js';
import type { Db } from '../../../infra/db/pool.js';
import { periodStart } from './ledger.js';
import { TENANT_SUBJECT, type AccessList, type BudgetRule, type RateRule } from './rules.js';

/** A tenant-wide rule is stored under the empty subject, whatever the caller wrote. */
const subjectFor = (scope: string, subject: string | undefined) => (scope === 'tenant' ? TENANT_SUBJECT : subject ?? '');

/** Set (models) or remove (null) one allow-list. */
export async function setAccessList(db: Db, tenantId: string, list: { scope: AccessScope; subject?: string; models: string[] | null }): Promise<void> {
  const subject = subjectFor(list.scope, list.subject);
  if (list.models === null) {
    await db.query('DELETE FROM model_access WHERE tenant_id = $1 AND scope = $2 AND subject = $3', [tenantId, list.scope, subject]);
    return;
  }
  await db.query(
    `INSERT INTO model_access (tenant_id, scope, subject, models) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id, scope, subject) DO UPDATE SET models = excluded.models, updated_at = now()`,
    [tenantId, list.scope, subject, [...new Set(list.models)]],
  );
}

export async function listAccessLists(db: Db, tenantId: string): Promise<AccessList[]> {
  const { rows } = await db.query<AccessList>('SELECT scope, subject, models FROM model_access WHERE tenant_id = $1 ORDER BY scope, subject', [tenantId]);
  return rows;
}

/** Set a budget's limits, or remove it (both limits null). */
export async function setBudget(db: Db, tenantId: string, b: { scope: BudgetScope; subject?: string; period: BudgetPeriod; usd: number | null; tokens: number | null }): Promise<void> {
  const subject = subjectFor(b.scope, b.subject);
  if (b.usd === null && b.tokens === null) {
    await db.query('DELETE FROM budgets WHERE tenant_id = $1 AND scope = $2 AND subject = $3 AND period = $4', [tenantId, b.scope, subject, b.period]);
    return;
  }
  await db.query(
    `INSERT INTO budgets (tenant_id, scope, subject, period, limit_usd, limit_tokens) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant_id, scope, subject, period) DO UPDATE SET limit_usd = excluded.limit_usd, limit_tokens = excluded.limit_tokens, updated_at = now()`,
    [tenantId, b.scope, subject, b.period, b.usd, b.tokens],
  );
}

export interface BudgetView extends BudgetRule {
  /** What the current window of a budget with a fixed subject has spent and holds (a '*' budget: each subject its own). */
  spent?: { usd: number; tokens: number; reservedUsd: number; reservedTokens: number; windowStart: string };
}

export async function listBudgets(db: Db, tenantId: string): Promise<BudgetView[]> {
  const { rows } = await db.query<{ scope: BudgetScope; subject: string; period: BudgetPeriod; usd: string | null; tokens: string | null; now: Date }>(
    'SELECT scope, subject, period, limit_usd AS usd, limit_tokens AS tokens, now() AS now FROM budgets WHERE tenant_id = $1 ORDER BY scope, subject, period',
    [tenantId],
  );
  const views: BudgetView[] = [];
  for (const r of rows) {
    const view: BudgetView = { scope: r.scope, subject: r.subject, period: r.period, usd: r.usd === null ? null : Number(r.usd), tokens: r.tokens === null ? null : Number(r.tokens) };
    if (r.subject !== '*') {
      const windowStart = periodStart(r.period, r.now).toISOString();
      const { rows: s } = await db.query<{ spent_usd: string; spent_tokens: string; reserved_usd: string; reserved_tokens: string }>(
        `SELECT spent_usd, spent_tokens, reserved_usd, reserved_tokens FROM budget_spend
         WHERE tenant_id = $1 AND scope = $2 AND subject = $3 AND period = $4 AND window_start = $5`,
        [tenantId, r.scope, r.subject, r.period, windowStart],
      );
      const row = s[0];
      view.spent = {
        usd: Number(row?.spent_usd ?? 0),
        tokens: Number(row?.spent_tokens ?? 0),
        reservedUsd: Number(row?.reserved_usd ?? 0),
        reservedTokens: Number(row?.reserved_tokens ?? 0),
        windowStart,
      };
    }
    views.push(view);
  }
  return views;
}

/** Set a rate limit, or remove it (both limits null). */
export async function setRateLimit(db: Db, tenantId: string, r: { scope: RateLimitScope; subject?: string; rpm: number | null; tpm: number | null }): Promise<void> {
  const subject = subjectFor(r.scope, r.subject);
  if (r.rpm === null && r.tpm === null) {
    await db.query('DELETE FROM rate_limits WHERE tenant_id = $1 AND scope = $2 AND subject = $3', [tenantId, r.scope, subject]);
    return;
  }
  await db.query(
    `INSERT INTO rate_limits (tenant_id, scope, subject, rpm, tpm) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, scope, subject) DO UPDATE SET rpm = excluded.rpm, tpm = excluded.tpm, updated_at = now()`,
    [tenantId, r.scope, subject, r.rpm, r.tpm],
  );
}

export async function listRateLimits(db: Db, tenantId: string): Promise<RateRule[]> {
  const { rows } = await db.query<{ scope: RateLimitScope; subject: string; rpm: number | null; tpm: string | null }>(
    'SELECT scope, subject, rpm, tpm FROM rate_limits WHERE tenant_id = $1 ORDER BY scope, subject',
    [tenantId],
  );
  return rows.map((r) => ({ ...r, tpm: r.tpm === null ? null : Number(r.tpm) }));
}


/** Each group's SQL: columns of model_usage, the day in UTC. */
const GROUP_SQL: Record<UsageGroup, string> = {
  key: 'key_id',
  model: 'model',
  day: `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  task: `split_part(task_id, '.', 1)`,
};

export interface UsageRow {
  tenantId: string;
  key?: string | null;
  model?: string;
  day?: string;
  task?: string | null;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** What the caches saved: calls Gatehouse's caches answered, and the provider's prompt-cache reads. */
  savedUsd: number;
}

/** A tenant's spend and tokens, grouped (always by tenant, then by the groups asked for) and filtered. */
export async function usageReport(
  db: Db,
  tenantId: string,
  q: { groupBy: UsageGroup[]; from?: string; to?: string; keyId?: string; model?: string },
): Promise<UsageRow[]> {
  const groups = usageGroup.options.filter((g) => q.groupBy.includes(g));
  const where = ['tenant_id = $1'];
  const params: unknown[] = [tenantId];
  const filter = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (q.from) filter('at >= ?::date', q.from);
  if (q.to) filter(`at < ?::date + interval '1 day'`, q.to);
  if (q.keyId) filter('key_id = ?', q.keyId);
  if (q.model) filter('model = ?', q.model);
  const select = groups.map((g) => `${GROUP_SQL[g]} AS "${g}"`);
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT ${[...select, 'count(*)::int AS calls', 'sum(input_tokens)::bigint AS input', 'sum(output_tokens)::bigint AS output', 'sum(cost_usd) AS cost', 'sum(saved_usd) AS saved'].join(', ')}
     FROM model_usage WHERE ${where.join(' AND ')}
     ${groups.length ? `GROUP BY ${groups.map((_, i) => i + 1).join(', ')} ORDER BY ${groups.map((_, i) => i + 1).join(', ')}` : ''}`,
    params,
  );
  return rows.map((r) => ({
    tenantId,
    ...Object.fromEntries(groups.map((g) => [g, r[g] as string | null])),
    calls: Number(r.calls),
    inputTokens: Number(r.input ?? 0),
    outputTokens: Number(r.output ?? 0),
    costUsd: dollars(r.cost),
    savedUsd: dollars(r.saved),
  }));
}

const dollars = (sum: unknown) => Math.round(Number(sum ?? 0) * 1e8) / 1e8;

/** The provider's prompt cache for one prompt prefix (its system messages and tools) on one model. */
export interface PromptCacheRow {
  tenantId: string;
  prefix: string;
  model: string;
  /** The steps that sent it (generate, decide, …), to tell one prefix from another. */
  steps: string[];
  calls: number;
  inputTokens: number;
  cachedReadTokens: number;
  cacheWriteTokens: number;
  /** cachedReadTokens / inputTokens: the share of input the cache served. */
  hitRatio: number;
  /** The share of calls that read anything from the cache. */
  cacheReadCallShare: number;
  costUsd: number;
  /** cachedReadTokens × (input price − cached price), priced when each call was made. */
  savedUsd: number;
}

/**
 * A tenant's provider prompt-cache use per prompt prefix and model, the most input first. Only
 * answered calls count: a failed attempt read nothing, and a cache hit called no provider.
 */
export async function promptCacheReport(db: Db, tenantId: string, q: { from?: string; to?: string; model?: string; limit: number }): Promise<PromptCacheRow[]> {
  const where = [`tenant_id = $1`, `outcome = 'ok'`, 'prompt_prefix IS NOT NULL'];
  const params: unknown[] = [tenantId];
  const filter = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (q.from) filter('at >= ?::date', q.from);
  if (q.to) filter(`at < ?::date + interval '1 day'`, q.to);
  if (q.model) filter('model = ?', q.model);
  params.push(q.limit);
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT prompt_prefix AS prefix, model, array_remove(array_agg(DISTINCT step), NULL) AS steps, count(*)::int AS calls,
            sum(input_tokens)::bigint AS input, sum(cached_read_tokens)::bigint AS read, sum(cache_write_tokens)::bigint AS write,
            count(*) FILTER (WHERE cached_read_tokens > 0)::int AS read_calls, sum(cost_usd) AS cost, sum(saved_usd) AS saved
     FROM model_usage WHERE ${where.join(' AND ')}
     GROUP BY prompt_prefix, model ORDER BY input DESC, prefix, model LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => {
    const inputTokens = Number(r.input ?? 0);
    const cachedReadTokens = Number(r.read ?? 0);
    const calls = Number(r.calls);
    return {
      tenantId,
      prefix: String(r.prefix),
      model: String(r.model),
      steps: (r.steps as string[] | null) ?? [],
      calls,
      inputTokens,
      cachedReadTokens,
      cacheWriteTokens: Number(r.write ?? 0),
      hitRatio: inputTokens ? Math.round((cachedReadTokens / inputTokens) * 1e4) / 1e4 : 0,
      cacheReadCallShare: calls ? Math.round((Number(r.read_calls) / calls) * 1e4) / 1e4 : 0,
      costUsd: dollars(r.cost),
      savedUsd: dollars(r.saved),
    };
  });
}
