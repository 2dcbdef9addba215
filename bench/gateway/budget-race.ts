// (c) Budget enforcement under a race: 100 concurrent gateway.chat calls, each its own request
// (its own attempt key), against a $1 budget that ~16 of them fit, on PGlite and native Postgres.
// Every call reserves its estimate before the call (an atomic conditional upsert, limits/ledger.ts)
// and settles to its real cost after. The baseline is the usual shortcut — read the counter, check,
// call, add the cost — implemented here only, on the same database, model and calls: nothing holds
// the budget between the check and the add, so every call that checks before the first one adds
// gets through.
import { ApplicationFailure } from '@temporalio/common';
import { estimatePromptTokens, ModelGateway, price } from '../../activities/gateway/gateway.js';
import { setBudget } from '../../activities/gateway/limits/index.js';
import type { ChatRequest } from '../../activities/gateway/types.js';
import { BUDGET_EXCEEDED } from '../../contracts/gateway-limits.js';
import type { Db } from '../../infra/db/pool.js';
import { TEST_EMBEDDER, testLog, uniqueId } from '../../test/support/harness-config.js';
import { startScriptedModelServer } from '../../test/support/scripted-model-server.js';
import { startBenchDatabase } from '../lib/databases.js';
import { fmt, table } from '../lib/stats.js';
import { BENCH_MODEL, gatewayBenchConfig, verdict, type GatewayPart } from './common.js';

const CALLS = 100;
const TRIALS = 5;
const BUDGET_USD = 1;
const MAX_TOKENS = 1000;
/** $10 / $60 per million tokens: a call's reservation is ~$0.06, so ~16 fit in $1. */
const PRICES = { input: 10, output: 60 };
/** A model call takes this long, so the 100 calls are all in flight together, as real (slower) calls would be. */
const CALL_DELAY_MS = 20;

const request: ChatRequest = { model: BENCH_MODEL, messages: [{ role: 'user', content: 'Summarise the refund policy in one paragraph.' }], maxTokens: MAX_TOKENS };

interface Trial {
  admitted: number;
  refused: number;
  failed: number;
  spentUsd: number;
  heldUsd: number;
}

async function gatewayTrial(db: Db, gateway: ModelGateway, trial: number): Promise<Trial> {
  const tenantId = uniqueId('race');
  await db.query('INSERT INTO tenants (id, name) VALUES ($1, $1)', [tenantId]);
  await setBudget(db, tenantId, { scope: 'tenant', period: 'day', usd: BUDGET_USD, tokens: null });
  const outcomes = await Promise.allSettled(
    Array.from({ length: CALLS }, (_, i) => gateway.chat(request, { tenantId, keyId: 'bench-key', step: 'bench', requestId: `race-${trial}-${i}` })),
  );
  const { rows } = await db.query<{ spent: string; reserved: string }>('SELECT spent_usd AS spent, reserved_usd AS reserved FROM budget_spend WHERE tenant_id = $1', [tenantId]);
  return {
    ...tally(outcomes),
    spentUsd: rows.reduce((n, r) => n + Number(r.spent), 0),
    heldUsd: rows.reduce((n, r) => n + Number(r.reserved), 0),
  };
}

/** The baseline: check a plain counter, call, add the cost — correct one call at a time, not under concurrency. */
async function naiveTrial(db: Db, gateway: ModelGateway, reservationUsd: number): Promise<Trial> {
  const tenantId = uniqueId('naive');
  await db.query('INSERT INTO bench_naive_spend (tenant_id) VALUES ($1)', [tenantId]);
  const call = async () => {
    const { rows } = await db.query<{ spent: string }>('SELECT spent_usd AS spent FROM bench_naive_spend WHERE tenant_id = $1', [tenantId]);
    if (Number(rows[0]!.spent) + reservationUsd > BUDGET_USD) throw ApplicationFailure.nonRetryable('budget reached', BUDGET_EXCEEDED);
    const result = await gateway.chat(request);
    await db.query('UPDATE bench_naive_spend SET spent_usd = spent_usd + $2 WHERE tenant_id = $1', [tenantId, result.usage.costUsd]);
    return result;
  };
  const outcomes = await Promise.allSettled(Array.from({ length: CALLS }, call));
  const { rows } = await db.query<{ spent: string }>('SELECT spent_usd AS spent FROM bench_naive_spend WHERE tenant_id = $1', [tenantId]);
  return { ...tally(outcomes), spentUsd: Number(rows[0]!.spent), heldUsd: 0 };
}

function tally(outcomes: PromiseSettledResult<unknown>[]): Pick<Trial, 'admitted' | 'refused' | 'failed'> {
  const refused = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof ApplicationFailure && o.reason.type === BUDGET_EXCEEDED).length;
  const admitted = outcomes.filter((o) => o.status === 'fulfilled').length;
  return { admitted, refused, failed: outcomes.length - admitted - refused };
}

export const raceBudget: GatewayPart = async (ctx) => {
  const server = await startScriptedModelServer({ models: [BENCH_MODEL] });
  // Every reply uses its whole cap: the reservation's worst case is what the call really costs.
  server.onChat(() => ({ content: 'Refunds within 30 days.', usage: { completionTokens: MAX_TOKENS }, delayMs: CALL_DELAY_MS }));
  const config = gatewayBenchConfig(server.baseUrl, PRICES);
  const spec = config.models.registry.find((m) => m.name === BENCH_MODEL)!;
  // What admission reserves for one call (gateway.ts: the prompt's tokens plus the reply's cap).
  const reservationUsd = price(spec, { inputTokens: estimatePromptTokens(request), outputTokens: MAX_TOKENS, cachedReadTokens: 0, cacheWriteTokens: 0 }).costUsd;
  const data: Record<string, unknown> = { calls: CALLS, trials: TRIALS, budgetUsd: BUDGET_USD, reservationUsd, callDelayMs: CALL_DELAY_MS, fit: Math.floor(BUDGET_USD / reservationUsd) };
  const rows: Array<Array<string | number>> = [];
  const verdicts: string[] = [];
  try {
    for (const kind of ['pglite', 'native'] as const) {
      ctx.log(`budget race: ${kind}`);
      const database = await startBenchDatabase(kind, TEST_EMBEDDER);
      try {
        await database.db.query('CREATE TABLE bench_naive_spend (tenant_id text PRIMARY KEY, spent_usd numeric NOT NULL DEFAULT 0)');
        const limited = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, db: database.db, log: testLog });
        const bare = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, log: testLog });
        const reserved: Trial[] = [];
        const naive: Trial[] = [];
        // Alternated, so both see the same machine.
        for (let t = 0; t < TRIALS; t++) {
          reserved.push(await gatewayTrial(database.db, limited, t));
          naive.push(await naiveTrial(database.db, bare, reservationUsd));
        }
        for (const [mode, trials] of [['gateway (atomic reservation)', reserved], ['baseline: read, check, call, add', naive]] as const) {
          const over = trials.map((t) => t.spentUsd - BUDGET_USD);
          const worst = Math.max(...over);
          rows.push([
            database.label,
            mode,
            range(trials.map((t) => t.admitted)),
            range(trials.map((t) => t.refused)),
            trials.reduce((n, t) => n + t.failed, 0),
            `${fmt(Math.min(...trials.map((t) => t.spentUsd)), 4)}–${fmt(Math.max(...trials.map((t) => t.spentUsd)), 4)}`,
            fmt(worst, 4),
            fmt(worst / reservationUsd, 2),
            fmt(Math.max(...trials.map((t) => t.heldUsd)), 4),
          ]);
          data[`${kind}:${mode.startsWith('gateway') ? 'gateway' : 'naive'}`] = trials;
        }
        const worst = Math.max(...reserved.map((t) => t.spentUsd - BUDGET_USD));
        verdicts.push(
          `- ${database.label}: worst overspend ${fmt(Math.max(0, worst), 4)} $ (${fmt(Math.max(0, worst) / reservationUsd, 2)} reservations) — ${verdict(worst <= reservationUsd, `${fmt(worst - reservationUsd, 4)} $`)}; ` +
            `the baseline overspent by up to ${fmt(Math.max(...naive.map((t) => t.spentUsd - BUDGET_USD)), 2)} $ (${fmt(Math.max(...naive.map((t) => t.spentUsd)) / BUDGET_USD, 1)}× the budget).`,
        );
      } finally {
        await database.stop();
      }
    }
  } finally {
    await server.close();
  }
  const markdown = [
    `### (c) Budget enforcement under 100 concurrent requests`,
    '',
    `${CALLS} concurrent \`gateway.chat\` calls, each its own request id (its own attempt key), against a tenant budget of $${BUDGET_USD} a day; ${TRIALS} trials per database, each on a fresh tenant, alternating with the baseline. ` +
      `Each call reserves $${fmt(reservationUsd, 4)} (its prompt's tokens plus the reply's cap of ${MAX_TOKENS}, at $${PRICES.input} / $${PRICES.output} per million tokens), so ${Math.floor(BUDGET_USD / reservationUsd)} fit; ` +
      `the scripted model takes ${CALL_DELAY_MS} ms and reports the whole cap as used (prompt tokens by its own count), so a call costs what it reserved up to the gap between the two token counts. ` +
      `The baseline does what a budget check without reservation does: read the spent counter, check that this call still fits, call the same model (the gateway without limits), add the cost with an atomic increment. ` +
      `Spend is what the budget's counter holds after every call returned; "held" is what is still reserved then (it should be 0).`,
    '',
    table(['database', 'mode', 'admitted', 'refused (BudgetExceeded)', 'other errors', 'settled spend $', 'worst spend − budget $', '÷ one reservation', 'held after $'], rows),
    '',
    `Target: overspend at most one request's reservation ($${fmt(reservationUsd, 4)}).`,
    '',
    ...verdicts,
  ].join('\n');
  return { markdown, data };
};

const range = (xs: number[]) => (Math.min(...xs) === Math.max(...xs) ? String(xs[0]) : `${Math.min(...xs)}–${Math.max(...xs)}`);
