// Reserve before a model call, settle after: both atomic in Postgres and idempotent per
// attempt key, so budgets and rate limits hold across every API process and worker, and
// Temporal's retries never count a call twice.
//
// A reservation is one transaction: its gateway_reservations row first (ON CONFLICT DO
// NOTHING: a key seen before counts nothing again), then one conditional upsert per counter,
// in a fixed order (no deadlocks), each refusing when the counter would pass its limit. Any
// refusal rolls the whole transaction back. Reserved amounts count as spent until settled, so
// concurrent calls can never together reserve more than a budget; it is overspent only by what
// the calls in flight really use beyond their estimates (the estimate is meant as a bound).
import type { BudgetPeriod } from '../../../contracts/gateway-limits.js';
import { inTransaction, type Db, type DbClient } from '../../../infra/db/pool.js';
import type { AttemptKey } from './attempt-key.js';
import type { AppliedBudget, AppliedRate } from './rules.js';

/** A counter a reservation was counted in: enough to find it again at settle time. */
type Counter =
  | { kind: 'budget'; scope: string; subject: string; period: BudgetPeriod; windowStart: string }
  | { kind: 'rate'; scope: string; subject: string; windowStart: string };

export interface Estimate {
  usd: number;
  tokens: number;
}

export type ReserveOutcome = { ok: true } | { ok: false; limit: string; retryAfterSeconds: number | null };

/** How long an unsettled reservation holds its budget: a call's longest run (the activity's timeout) and then some. */
const STALE_AFTER = '15 minutes';

/** Thrown inside the transaction to roll it back; caught outside it. */
class Refused extends Error {
  constructor(readonly outcome: Extract<ReserveOutcome, { ok: false }>) {
    super(outcome.limit);
  }
}

export async function reserve(
  db: Db,
  opts: { tenantId: string; key: AttemptKey; estimate: Estimate; budgets: AppliedBudget[]; rates: AppliedRate[] },
): Promise<ReserveOutcome> {
  const { tenantId, key, estimate } = opts;
  // A call that alone is bigger than a limit never fits: refused before touching a row.
  for (const b of opts.budgets) {
    if (b.usd !== null && estimate.usd > b.usd) return refusal(budgetName(b, 'usd'), null);
    if (b.tokens !== null && estimate.tokens > b.tokens) return refusal(budgetName(b, 'tokens'), null);
  }
  for (const r of opts.rates) {
    if (r.rpm === 0) return refusal(rateName(r, 'rpm'), 60);
    if (r.tpm !== null && estimate.tokens > r.tpm) return refusal(rateName(r, 'tpm'), null);
  }
  try {
    return await inTransaction(db, async (client) => {
      if (key.activityKey && key.attempt && key.attempt > 1) await releaseEarlierAttempts(client, key.activityKey, key.attempt);
      await releaseStale(client, tenantId);
      const { rows } = await client.query<{ now: Date }>(
        `INSERT INTO gateway_reservations (id, tenant_id, activity_key, attempt, counters, reserved_usd, reserved_tokens, state)
         VALUES ($1, $2, $3, $4, '[]', $5, $6, 'reserved') ON CONFLICT (id) DO NOTHING RETURNING now() AS now`,
        [key.id, tenantId, key.activityKey ?? null, key.attempt ?? null, estimate.usd, estimate.tokens],
      );
      // Reserved (or settled) before under this key: nothing more to count.
      if (!rows[0]) return { ok: true } as const;
      const now = rows[0].now;
      const counters: Counter[] = [];
      for (const b of [...opts.budgets].sort(byName(budgetKey))) {
        const windowStart = periodStart(b.period, now).toISOString();
        const held = await client.query(
          `INSERT INTO budget_spend (tenant_id, scope, subject, period, window_start, reserved_usd, reserved_tokens)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, scope, subject, period, window_start) DO UPDATE
             SET reserved_usd = budget_spend.reserved_usd + excluded.reserved_usd,
                 reserved_tokens = budget_spend.reserved_tokens + excluded.reserved_tokens
             WHERE ($8::numeric IS NULL OR budget_spend.spent_usd + budget_spend.reserved_usd + excluded.reserved_usd <= $8::numeric)
               AND ($9::bigint IS NULL OR budget_spend.spent_tokens + budget_spend.reserved_tokens + excluded.reserved_tokens <= $9::bigint)
           RETURNING 1`,
          [tenantId, b.scope, b.counted, b.period, windowStart, estimate.usd, estimate.tokens, b.usd, b.tokens],
        );
        if (!held.rowCount) throw new Refused(await budgetRefusal(client, tenantId, b, windowStart, estimate, now));
        counters.push({ kind: 'budget', scope: b.scope, subject: b.counted, period: b.period, windowStart });
      }
      const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
      const retryAfter = Math.max(1, Math.ceil((minute.getTime() + 60_000 - now.getTime()) / 1000));
      for (const r of [...opts.rates].sort(byName(rateKey))) {
        const counted = await client.query<{ requests: number; tokens: string }>(
          `INSERT INTO rate_windows (tenant_id, scope, subject, window_start, requests, tokens) VALUES ($1, $2, $3, $4, 1, $5)
           ON CONFLICT (tenant_id, scope, subject, window_start) DO UPDATE
             SET requests = rate_windows.requests + 1, tokens = rate_windows.tokens + excluded.tokens
             WHERE ($6::int IS NULL OR rate_windows.requests < $6::int)
               AND ($7::bigint IS NULL OR rate_windows.tokens + excluded.tokens <= $7::bigint)
           RETURNING requests`,
          [tenantId, r.scope, r.counted, minute.toISOString(), estimate.tokens, r.rpm, r.tpm],
        );
        if (!counted.rowCount) {
          const { rows: w } = await client.query<{ requests: number }>(
            'SELECT requests FROM rate_windows WHERE tenant_id = $1 AND scope = $2 AND subject = $3 AND window_start = $4',
            [tenantId, r.scope, r.counted, minute.toISOString()],
          );
          const byRequests = r.rpm !== null && (w[0]?.requests ?? 0) >= r.rpm;
          throw new Refused({ ok: false, limit: rateName(r, byRequests ? 'rpm' : 'tpm'), retryAfterSeconds: retryAfter });
        }
        counters.push({ kind: 'rate', scope: r.scope, subject: r.counted, windowStart: minute.toISOString() });
      }
      await client.query('UPDATE gateway_reservations SET counters = $2 WHERE id = $1', [key.id, JSON.stringify(counters)]);
      return { ok: true } as const;
    });
  } catch (err) {
    if (err instanceof Refused) return err.outcome;
    throw err;
  }
}

/**
 * Settle a reservation to what the call really used (zero for a call that failed). Once per
 * key: a second settle finds the row settled and changes nothing. A released reservation (its
 * attempt was given up on, or it went stale) still has its real usage counted, without
 * giving back a hold it no longer has.
 */
export async function settle(db: Db, id: string, used: Estimate): Promise<void> {
  await inTransaction(db, async (client) => {
    const { rows } = await client.query<{ tenant_id: string; state: string; counters: Counter[]; reserved_usd: string; reserved_tokens: string }>(
      'SELECT tenant_id, state, counters, reserved_usd, reserved_tokens FROM gateway_reservations WHERE id = $1 FOR UPDATE',
      [id],
    );
    const row = rows[0];
    if (!row || row.state === 'settled') return;
    await client.query(`UPDATE gateway_reservations SET state = 'settled', spent_usd = $2, spent_tokens = $3, settled_at = now() WHERE id = $1`, [
      id,
      used.usd,
      used.tokens,
    ]);
    const held = row.state === 'reserved';
    await applyCounters(client, row.tenant_id, row.counters, {
      spentUsd: used.usd,
      spentTokens: used.tokens,
      releasedUsd: held ? Number(row.reserved_usd) : 0,
      releasedTokens: held ? Number(row.reserved_tokens) : 0,
      // A rate window counted the estimate; it keeps the real tokens (the request itself stays counted).
      rateTokenDelta: used.tokens - Number(row.reserved_tokens),
    });
  });
}

/** Give back what reservations of an activity's earlier attempts hold: Temporal runs one attempt at a time. */
async function releaseEarlierAttempts(client: DbClient, activityKey: string, attempt: number): Promise<void> {
  await release(client, 'activity_key = $1 AND attempt < $2', [activityKey, attempt]);
}

/** Reservations nobody settled (their worker died, and no retry came): released after STALE_AFTER. */
async function releaseStale(client: DbClient, tenantId: string): Promise<void> {
  await release(client, `id IN (SELECT id FROM gateway_reservations WHERE tenant_id = $1 AND state = 'reserved' AND created_at < now() - interval '${STALE_AFTER}' LIMIT 50)`, [
    tenantId,
  ]);
}

async function release(client: DbClient, where: string, params: unknown[]): Promise<void> {
  const { rows } = await client.query<{ tenant_id: string; counters: Counter[]; reserved_usd: string; reserved_tokens: string }>(
    `UPDATE gateway_reservations SET state = 'released' WHERE state = 'reserved' AND ${where} RETURNING tenant_id, counters, reserved_usd, reserved_tokens`,
    params,
  );
  for (const r of rows) {
    await applyCounters(client, r.tenant_id, r.counters, {
      spentUsd: 0,
      spentTokens: 0,
      releasedUsd: Number(r.reserved_usd),
      releasedTokens: Number(r.reserved_tokens),
      rateTokenDelta: 0,
    });
  }
}

async function applyCounters(
  client: DbClient,
  tenantId: string,
  counters: Counter[],
  d: { spentUsd: number; spentTokens: number; releasedUsd: number; releasedTokens: number; rateTokenDelta: number },
): Promise<void> {
  for (const c of counters) {
    if (c.kind === 'budget') {
      await client.query(
        `UPDATE budget_spend SET spent_usd = spent_usd + $6, spent_tokens = spent_tokens + $7,
           reserved_usd = GREATEST(reserved_usd - $8, 0), reserved_tokens = GREATEST(reserved_tokens - $9, 0)
         WHERE tenant_id = $1 AND scope = $2 AND subject = $3 AND period = $4 AND window_start = $5`,
        [tenantId, c.scope, c.subject, c.period, c.windowStart, d.spentUsd, d.spentTokens, d.releasedUsd, d.releasedTokens],
      );
    } else if (d.rateTokenDelta !== 0) {
      await client.query('UPDATE rate_windows SET tokens = GREATEST(tokens + $5, 0) WHERE tenant_id = $1 AND scope = $2 AND subject = $3 AND window_start = $4', [
        tenantId,
        c.scope,
        c.subject,
        c.windowStart,
        d.rateTokenDelta,
      ]);
    }
  }
}

function refusal(limit: string, retryAfterSeconds: number | null): ReserveOutcome {
  return { ok: false, limit, retryAfterSeconds };
}

export function budgetName(b: Pick<AppliedBudget, 'scope' | 'counted' | 'period'>, unit: 'usd' | 'tokens'): string {
  return `budget:${b.scope}:${b.counted || 'tenant'}:${b.period}:${unit}`;
}

export function rateName(r: Pick<AppliedRate, 'scope' | 'counted'>, unit: 'rpm' | 'tpm'): string {
  return `rate:${r.scope}:${r.counted || 'tenant'}:${unit}`;
}

const budgetKey = (b: AppliedBudget) => `${b.scope}\u0000${b.counted}\u0000${b.period}`;
const rateKey = (r: AppliedRate) => `${r.scope}\u0000${r.counted}`;
function byName<T>(key: (t: T) => string) {
  return (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/** The start of the budget window `now` falls in, in UTC; a total budget has one window. */
export function periodStart(period: BudgetPeriod, now: Date): Date {
  if (period === 'day') return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  if (period === 'month') return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  return new Date(0);
}

/** Seconds until the window after `now` begins; null for a total budget, which never resets by itself. */
export function periodRetryAfter(period: BudgetPeriod, now: Date): number | null {
  if (period === 'total') return null;
  const start = periodStart(period, now);
  const next = period === 'day' ? Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + 1) : Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/** Which of a refusing budget's two limits the call would pass: dollars first. */
async function budgetRefusal(client: DbClient, tenantId: string, b: AppliedBudget, windowStart: string, estimate: Estimate, now: Date) {
  const { rows } = await client.query<{ usd: string; tokens: string }>(
    `SELECT spent_usd + reserved_usd AS usd, spent_tokens + reserved_tokens AS tokens FROM budget_spend
     WHERE tenant_id = $1 AND scope = $2 AND subject = $3 AND period = $4 AND window_start = $5`,
    [tenantId, b.scope, b.counted, b.period, windowStart],
  );
  const overUsd = b.usd !== null && Number(rows[0]?.usd ?? 0) + estimate.usd > b.usd;
  return { ok: false as const, limit: budgetName(b, overUsd || b.tokens === null ? 'usd' : 'tokens'), retryAfterSeconds: periodRetryAfter(b.period, now) };
}

/**
 * The first limit already used up, counting nothing: what the API checks before it starts a
 * task, so a caller over its budget or rate hears 429 at once rather than from a failed task.
 */
export async function exhaustedLimit(db: Db, opts: { tenantId: string; budgets: AppliedBudget[]; rates: AppliedRate[] }): Promise<ReserveOutcome> {
  const { rows } = await db.query<{ now: Date }>('SELECT now() AS now');
  const now = rows[0]!.now;
  for (const b of opts.budgets) {
    const windowStart = periodStart(b.period, now).toISOString();
    const { rows: s } = await db.query<{ usd: string; tokens: string }>(
      `SELECT spent_usd + reserved_usd AS usd, spent_tokens + reserved_tokens AS tokens FROM budget_spend
       WHERE tenant_id = $1 AND scope = $2 AND subject = $3 AND period = $4 AND window_start = $5`,
      [opts.tenantId, b.scope, b.counted, b.period, windowStart],
    );
    const used = { usd: Number(s[0]?.usd ?? 0), tokens: Number(s[0]?.tokens ?? 0) };
    if (b.usd !== null && used.usd >= b.usd) return refusal(budgetName(b, 'usd'), periodRetryAfter(b.period, now));
    if (b.tokens !== null && used.tokens >= b.tokens) return refusal(budgetName(b, 'tokens'), periodRetryAfter(b.period, now));
  }
  const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  const retryAfter = Math.max(1, Math.ceil((minute.getTime() + 60_000 - now.getTime()) / 1000));
  for (const r of opts.rates) {
    const { rows: w } = await db.query<{ requests: number; tokens: string }>(
      'SELECT requests, tokens FROM rate_windows WHERE tenant_id = $1 AND scope = $2 AND subject = $3 AND window_start = $4',
      [opts.tenantId, r.scope, r.counted, minute.toISOString()],
    );
    if (r.rpm !== null && (w[0]?.requests ?? 0) >= r.rpm) return refusal(rateName(r, 'rpm'), retryAfter);
    if (r.tpm !== null && Number(w[0]?.tokens ?? 0) >= r.tpm) return refusal(rateName(r, 'tpm'), retryAfter);
  }
  return { ok: true };
}
