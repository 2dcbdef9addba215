// (a) The gateway's own overhead over the bare `openai` call: the same request to the same
// zero-latency scripted server, once through `new OpenAI().chat.completions.create` and once
// through `ModelGateway.chat` — without a database (the chain, breaker, balancer, adapter and
// pricing: the gateway's own code path, which the ≤ 0.3 ms target is judged on) and with the real
// limits path on PGlite and native Postgres (admission's rules query, a budget's reserve and
// settle transactions, the usage row), so the report shows what Postgres-backed admission costs.
// Variants are interleaved in rounds, each round starting at the next variant, to cancel drift.
import OpenAI from 'openai';
import pg from 'pg';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { setBudget } from '../../activities/gateway/limits/index.js';
import type { CallContext, ChatRequest } from '../../activities/gateway/types.js';
import { TEST_EMBEDDER, testLog, uniqueId } from '../../test/support/harness-config.js';
import { startScriptedModelServer } from '../../test/support/scripted-model-server.js';
import { startBenchDatabase, type BenchDatabase } from '../lib/databases.js';
import { fmt, mean, percentile, table } from '../lib/stats.js';
import { BENCH_MODEL, gatewayBenchConfig, verdict, type GatewayPart } from './common.js';

const ROUNDS = 25;
const PER_ROUND = 100;
const WARMUP = 300;
const TARGET_MS = 0.3;

const request: ChatRequest = { messages: [{ role: 'user', content: 'Say ok.' }], maxTokens: 16, temperature: 0 };

interface Variant {
  name: string;
  call(): Promise<unknown>;
  /** Postgres round trips and the time spent in them, counted while this variant runs. */
  queries: { count: number; ms: number };
  samples: number[];
}

/** Counts every pg query and the time until its reply, whatever pool or transaction sent it. */
function instrumentPg(): { current: { count: number; ms: number } | undefined; restore(): void } {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const state: { current: { count: number; ms: number } | undefined; restore(): void } = { current: undefined, restore: () => (proto.query = original) };
  proto.query = function (this: unknown, ...args: unknown[]) {
    const into = state.current;
    if (!into) return original.apply(this, args);
    const t0 = performance.now();
    into.count++;
    const last = args.at(-1);
    // pg.Pool#query passes a callback; clients in a transaction use the promise.
    if (typeof last === 'function') {
      args[args.length - 1] = (...r: unknown[]) => {
        into.ms += performance.now() - t0;
        (last as (...a: unknown[]) => void)(...r);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args) as Promise<unknown>;
    return result.finally(() => (into.ms += performance.now() - t0));
  };
  return state;
}

export const measureOverhead: GatewayPart = async (ctx) => {
  const server = await startScriptedModelServer({ models: [BENCH_MODEL] });
  server.onChat(() => ({ content: 'ok', usage: { promptTokens: 12, completionTokens: 1 } }));
  const config = gatewayBenchConfig(server.baseUrl, { input: 1, output: 2 });
  const databases: BenchDatabase[] = [];
  const pgCounter = instrumentPg();
  try {
    // The bare client as the gateway builds its own: one try, no retries.
    const bare = new OpenAI({ baseURL: server.baseUrl, apiKey: 'not-needed', maxRetries: 0 });
    const gateway = (db?: BenchDatabase) => new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, db: db?.db, log: testLog });
    const variant = (name: string, call: () => Promise<unknown>): Variant => ({ name, call, queries: { count: 0, ms: 0 }, samples: [] });
    // One gateway per variant, kept for the run: its breakers and clients persist, as in a worker.
    const noDb = gateway();
    const variants: Variant[] = [
      variant('bare `openai` client', () =>
        bare.chat.completions.create({ model: BENCH_MODEL, messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 16, temperature: 0 }),
      ),
      variant('gateway, no database', () => noDb.chat(request)),
    ];

    for (const kind of ['pglite', 'native'] as const) {
      ctx.log(`overhead: starting ${kind}`);
      const database = await startBenchDatabase(kind, TEST_EMBEDDER);
      databases.push(database);
      const label = kind === 'pglite' ? 'PGlite' : 'native Postgres';
      const plain = uniqueId('ovh');
      const budgeted = uniqueId('ovh');
      for (const t of [plain, budgeted]) await database.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1)', [t]);
      // A budget no call reaches: every call reserves and settles, none is refused.
      await setBudget(database.db, budgeted, { scope: 'tenant', period: 'month', usd: 1_000_000, tokens: null });
      const gw = gateway(database);
      const on = (tenantId: string): CallContext => ({ tenantId, keyId: 'bench-key', step: 'bench' });
      variants.push(variant(`gateway + ${label}, tenant without rules`, () => gw.chat(request, on(plain))));
      variants.push(variant(`gateway + ${label}, tenant budget (reserve + settle)`, () => gw.chat(request, on(budgeted))));
    }

    ctx.log(`overhead: warmup ${WARMUP} calls per variant`);
    for (const v of variants) for (let i = 0; i < WARMUP; i++) await v.call();
    ctx.log(`overhead: ${ROUNDS} rounds × ${PER_ROUND} calls × ${variants.length} variants`);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(round + k) % variants.length]!;
        pgCounter.current = v.queries;
        for (let i = 0; i < PER_ROUND; i++) {
          const t0 = performance.now();
          await v.call();
          v.samples.push(performance.now() - t0);
        }
        pgCounter.current = undefined;
      }
      // The scripted server keeps every request it saw; a benchmark does not need them.
      server.requests.length = 0;
    }

    const base = percentile(variants[0]!.samples, 50);
    const baseP99 = percentile(variants[0]!.samples, 99);
    const baseMean = mean(variants[0]!.samples);
    const rows = variants.map((v) => {
      const p50 = percentile(v.samples, 50);
      const p99 = percentile(v.samples, 99);
      return {
        variant: v.name,
        calls: v.samples.length,
        p50Ms: p50,
        p99Ms: p99,
        addedP50Ms: p50 - base,
        addedP99Ms: p99 - baseP99,
        // Means, to set against the mean time waiting on Postgres.
        addedMeanMs: mean(v.samples) - baseMean,
        ratioP50: p50 / base,
        queriesPerCall: v.queries.count / v.samples.length,
        pgMsPerCall: v.queries.ms / v.samples.length,
      };
    });
    const own = rows[1]!;
    const markdown = [
      `### (a) In-process gateway overhead over the bare \`openai\` call`,
      '',
      `The same request (one user message, \`max_tokens\` 16) to the same zero-latency scripted server, ${ROUNDS} interleaved rounds of ${PER_ROUND} sequential calls per variant ` +
        `(${ROUNDS * PER_ROUND} each) after ${WARMUP} warm-up calls each. "pg" columns: Postgres round trips per call and the time spent waiting on them (pg's \`Client#query\` timed). ` +
        `The bench process holds the scripted server, the client, the gateway and PGlite (WASM, on the same event loop); native Postgres is its own process.`,
      '',
      table(
        ['variant', 'calls', 'p50 ms', 'p99 ms', 'added p50 ms', 'added p99 ms', '× bare p50', 'pg round trips / call', 'pg ms / call'],
        rows.map((r) => [r.variant, r.calls, fmt(r.p50Ms, 3), fmt(r.p99Ms, 3), fmt(r.addedP50Ms, 3), fmt(r.addedP99Ms, 3), fmt(r.ratioP50, 2), fmt(r.queriesPerCall, 1), fmt(r.pgMsPerCall, 3)]),
      ),
      '',
      `**Target ≤ ${TARGET_MS} ms added at p50, judged on "gateway, no database"** — the gateway's own code path (chain walk, breaker, balancer, provider adapter, pricing, attempt record), ` +
        `which is what the gateway adds to every call wherever its counters live: ${verdict(own.addedP50Ms <= TARGET_MS, `${fmt(own.addedP50Ms - TARGET_MS, 3)} ms`)} (${fmt(own.addedP50Ms, 3)} ms).`,
      '',
      limitsNote(rows),
    ].join('\n');
    return { markdown, data: { rounds: ROUNDS, perRound: PER_ROUND, warmup: WARMUP, targetMs: TARGET_MS, rows } };
  } finally {
    pgCounter.restore();
    await server.close();
    for (const d of databases) await d.stop();
  }
};

/** What the Postgres-backed rows add beyond the gateway's own path, and how much of it is waiting on Postgres (means, both). */
function limitsNote(rows: Array<{ variant: string; addedP50Ms: number; addedMeanMs: number; queriesPerCall: number; pgMsPerCall: number }>): string {
  const own = rows[1]!.addedMeanMs;
  const lines = rows.slice(2).map(
    (r) =>
      `- ${r.variant}: ${fmt(r.addedP50Ms, 3)} ms added at p50 (${verdict(r.addedP50Ms <= TARGET_MS, `${fmt(r.addedP50Ms - TARGET_MS, 3)} ms`)} against the same ${TARGET_MS} ms); ` +
      `on average it adds ${fmt(r.addedMeanMs - own, 3)} ms beyond the gateway's own path, and ${fmt(r.pgMsPerCall, 3)} ms of each call is spent waiting on its ${fmt(r.queriesPerCall, 0)} Postgres round trips.`,
  );
  return [
    "With the limits path (not the target's row, reported so the cost is not hidden): a tenant without rules costs one rules query and the usage row; a budget adds the reservation " +
      "transaction before the call and the settle transaction after it (BEGIN, the stale-hold sweep, the reservation row, the counter's conditional upsert, its counters, COMMIT; then the settle's). " +
      "What the limits add is Postgres round trips, not the gateway's code:",
    '',
    ...lines,
  ].join('\n');
}
