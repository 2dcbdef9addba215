// (b) Cache lookups on native Postgres at 100,000 entries, each against the uncached path it
// replaces, measured in the same run:
// - exact: ExactCache.get (a hit and a miss) among 100,000 cache_entries, against the model call
//   it saves (generateAnswer through the gateway to the scripted, zero-latency model server — a
//   floor: a real provider adds its generation time) and, for the retrieval layer, the cached
//   search (cachedRetrieval's hit) against retrieveHybrid on the demo collection;
// - semantic: SemanticCache.lookup (nearest + guard) among 100,000 semantic_cache_entries,
//   against retrieval + generation of the answer; the query's embedding timed on its own.
// Targets: exact p99 ≤ 2 ms, semantic p99 ≤ 10 ms.
import { ExactCache, requestKey } from '../../activities/cache/exact.js';
import { cachedRetrieval } from '../../activities/cache/retrieval.js';
import { SemanticCache, type SemanticAddress } from '../../activities/cache/semantic.js';
import { compareQueries } from '../../activities/cache/false-hit-guard.js';
import { generateAnswer } from '../../activities/answering.js';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import type { Embedder } from '../../activities/retrieval/embedder.js';
import { retrieveHybrid } from '../../activities/retrieval/search.js';
import { mulberry32 } from '../../activities/router/clusters.js';
import type { CacheSettings } from '../../infra/config.js';
import { inTransaction, toVectorParam } from '../../infra/db/pool.js';
import { loadDemoCorpus } from '../../infra/demo/seed.js';
import { indexDocuments } from '../../test/support/corpus.js';
import { startScriptedModelServer } from '../../test/support/scripted-model-server.js';
import { BENCH_MODEL, gatewayBenchConfig } from '../gateway/common.js';
import type { BenchContext } from '../lib/bench.js';
import { startBenchDatabase, type BenchDatabase } from '../lib/databases.js';
import { planOf } from '../lib/explain.js';
import { fmt, percentile, table } from '../lib/stats.js';
import { loadMiniLm, operatingPoint, verdict, type CachePart } from './common.js';
import { QUERY_PAIRS } from './pairs.js';

const ENTRIES = Number(process.env.CACHE_BENCH_ENTRIES ?? 100_000);
const TENANT = 'bench';
/** The measured tenant's share of each table; the rest is spread over seven others. */
const TENANT_SHARE = 0.25;
const OTHER_TENANTS = Array.from({ length: 7 }, (_, i) => `other-${i}`);
const ROUTES: Array<[string, number]> = [['support', 0.6], ['billing', 0.25], ['sales', 0.15]];
/** The address every semantic lookup is made at: the measured tenant's busiest route, shared scope, current context. */
const ADDRESS: SemanticAddress = { tenantId: TENANT, route: 'support', scope: '', contextKey: 'ctx-current', collection: 'demo', corpusVersion: 1 };
const ROUNDS = 3;
const WARMUP = 50;
const RETRIEVAL = { mode: 'ensemble' as const, topK: 8, candidates: 50, rrfK: 60, efSearch: 100 };
const TARGETS = { exactP99: 2, semanticP99: 10 };
/** Far more than the tables hold: this part measures lookups, not eviction. */
const SETTINGS: CacheSettings = { layers: { model: true, retrieval: true, tool: true, semantic: 'on' }, ttlSeconds: 86_400, maxBytesPerTenant: 2 ** 31 - 1, eviction: 'lru', semanticThreshold: 0.9 };

type Stat = { n: number; p50: number; p95: number; p99: number };
const stat = (xs: number[]): Stat => ({ n: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99) });

interface Op {
  inputs: readonly unknown[];
  run: (x: unknown, i: number) => Promise<unknown>;
}

/** Warm up, then time `fn` over every input, ROUNDS times. */
async function timed<T>(inputs: readonly T[], fn: (x: T) => Promise<unknown>, rounds = ROUNDS): Promise<Stat> {
  for (let i = 0; i < WARMUP; i++) await fn(inputs[i % inputs.length]!);
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const x of inputs) {
      const t0 = performance.now();
      await fn(x);
      ms.push(performance.now() - t0);
    }
  }
  return stat(ms);
}

/**
 * Every operation warmed up, then ROUNDS rounds, each a pass of every operation over its inputs,
 * each round starting at the next operation: drift on a shared machine (other work comes and
 * goes) then falls on every operation alike, not on whichever ran at the wrong moment.
 */
async function timeInterleaved(ops: Record<string, Op>): Promise<Record<string, Stat>> {
  const names = Object.keys(ops);
  for (const name of names) for (let i = 0; i < WARMUP; i++) await ops[name]!.run(ops[name]!.inputs[i % ops[name]!.inputs.length], i % ops[name]!.inputs.length);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length]!;
      const { inputs, run } = ops[name]!;
      for (let i = 0; i < inputs.length; i++) {
        const t0 = performance.now();
        await run(inputs[i], i);
        samples[name]!.push(performance.now() - t0);
      }
    }
  }
  return Object.fromEntries(names.map((n) => [n, stat(samples[n]!)]));
}

export const lookupLatency: CachePart = async (ctx) => {
  const embedder = await loadMiniLm(ctx);
  const server = await startScriptedModelServer({ models: [BENCH_MODEL] });
  server.onChat(() => ({ content: 'Returns are accepted within 30 days of delivery [1]; a 15% restocking fee applies to opened printers [2].', usage: { promptTokens: 1200, completionTokens: 30 } }));
  let database: BenchDatabase | undefined;
  try {
    database = await startBenchDatabase('native', embedder);
    return await measure(ctx, database, embedder, server.baseUrl);
  } finally {
    await database?.stop();
    await server.close();
    await embedder.close?.();
  }
};

async function measure(ctx: BenchContext, database: BenchDatabase, embedder: Embedder, modelUrl: string) {
  const { db, caps } = database;
  const random = mulberry32(12);
  for (const t of [TENANT, ...OTHER_TENANTS]) await db.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [t]);
  const tenantOf = (i: number) => (i < ENTRIES * TENANT_SHARE ? TENANT : OTHER_TENANTS[i % OTHER_TENANTS.length]!);

  // --- the uncached paths: the demo corpus (real MiniLM embeddings) and a gateway without a cache
  ctx.log('cache (b): indexing the demo corpus');
  await indexDocuments({ db, embedder }, { tenantId: TENANT, collection: 'demo', documents: await loadDemoCorpus() });
  const config = gatewayBenchConfig(modelUrl);
  const uncached = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, db });
  const cachedGateway = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, db, cache: SETTINGS });
  const exact = new ExactCache(db, SETTINGS);
  const semantic = new SemanticCache(db, caps, embedder, SETTINGS);
  const deps = { db, caps, embedder };
  const queries = [...new Set(QUERY_PAIRS.map((p) => p.a))];
  const demoQueries = [...new Set(QUERY_PAIRS.filter((p) => p.corpus === 'demo').map((p) => p.a))];

  // --- 100,000 exact entries: model answers, retrieval results and tool results of 8 tenants
  ctx.log(`cache (b): loading ${ENTRIES} exact entries`);
  const exactLoad = await loadExactEntries(db, tenantOf);
  const hitKeys = (await db.query<{ key: string }>(`SELECT key FROM cache_entries WHERE tenant_id = $1 AND layer = 'model' AND scope = '' ORDER BY md5(key) LIMIT 300`, [TENANT])).rows.map((r) => r.key);
  const missKeys = hitKeys.map((k) => requestKey({ missing: k }));

  // --- 100,000 semantic entries (see loadSemanticEntries), the pairs' cached queries among them
  ctx.log(`cache (b): embedding ${queries.length} lookup queries and the cached ones`);
  const cachedQueries = [...new Set(QUERY_PAIRS.map((p) => p.b))];
  const vectors = new Map<string, Float32Array>();
  for (const q of [...queries, ...cachedQueries]) vectors.set(q, (await embedder.embed([q], 'query'))[0]!);
  ctx.log(`cache (b): loading ${ENTRIES} semantic entries`);
  const semanticLoad = await loadSemanticEntries(db, embedder, random, tenantOf, cachedQueries.map((q) => ({ query: q, vector: vectors.get(q)! })));

  // --- plans: the product's own statements, EXPLAIN ANALYZE
  const semanticPlan = await planOf(db, /FROM semantic_cache_entries/, (pdb) => new SemanticCache(pdb, caps, embedder, SETTINGS).nearest(ADDRESS, vectors.get(queries[0]!)!), 'ANALYZE, BUFFERS');
  const exactPlan = await planOf(db, /UPDATE cache_entries/, (pdb) => new ExactCache(pdb, SETTINGS).get({ tenantId: TENANT, layer: 'model', scope: '', key: hitKeys[0]! }), 'ANALYZE, BUFFERS');
  const usesHnsw = /Index Scan using semantic_cache_embedding_idx/.test(semanticPlan);
  ctx.log(`cache (b): semantic plan ${usesHnsw ? 'uses' : 'does NOT use'} the HNSW index`);

  // --- what the timed calls need in place: the passages, the cached retrievals and answers, the memo
  const threshold = operatingPoint.threshold;
  const search = (q: string) => retrieveHybrid(deps, { tenantId: TENANT, collection: 'demo', query: q, ...RETRIEVAL });
  const retrieved = new Map<string, Awaited<ReturnType<typeof retrieveHybrid>>>();
  for (const q of demoQueries) retrieved.set(q, await search(q));
  const retrievalInput = (q: string) => ({ tenantId: TENANT, collection: 'demo', query: q, ...RETRIEVAL });
  for (const q of demoQueries) await cachedRetrieval(db, exact, retrievalInput(q), async () => retrieved.get(q)!);
  const answerInput = (q: string) => ({ question: q, passages: retrieved.get(q)!.passages, context: { tenantId: TENANT } });
  // Questions the cache refuses (time-sensitive, or "my" with no user known) are left out of the hit timing.
  const cacheable: string[] = [];
  for (const q of demoQueries) if ((await generateAnswer(cachedGateway, answerInput(q))).cache?.outcome === 'stored') cacheable.push(q);
  for (const q of queries) await semantic.embed(q); // the memo: `lookup` then times nearest + guard + hit count
  let fresh = new SemanticCache(db, caps, embedder, SETTINGS);

  ctx.log('cache (b): timing lookups and baselines, interleaved');
  const op = <T>(inputs: readonly T[], run: (x: T, i: number) => Promise<unknown>): Op => ({ inputs, run: run as Op['run'] });
  const ops = await timeInterleaved({
    rtt: op(hitKeys, () => db.query('SELECT 1')),
    exactHit: op(hitKeys, (key) => exact.get({ tenantId: TENANT, layer: 'model', scope: '', key })),
    exactMiss: op(missKeys, (key) => exact.get({ tenantId: TENANT, layer: 'model', scope: '', key })),
    retrieveHybrid: op(demoQueries, (q) => search(q)),
    retrievalHit: op(demoQueries, (q) => cachedRetrieval(db, exact, retrievalInput(q), () => Promise.reject(new Error(`retrieval cache missed "${q}"`)))),
    modelCall: op(demoQueries, (q) => generateAnswer(uncached, answerInput(q))),
    modelCallHit: op(cacheable, async (q) => {
      const r = await generateAnswer(cachedGateway, answerInput(q));
      if (r.cache?.outcome !== 'hit') throw new Error(`model cache missed "${q}": ${JSON.stringify(r.cache)}`);
    }),
    embed: op(queries, (q) => embedder.embed([q], 'query')),
    nearest: op(queries, (q) => semantic.nearest(ADDRESS, vectors.get(q)!)),
    lookup: op(queries, (q) => semantic.lookup(ADDRESS, q, { threshold, mode: 'on' })),
    // Embedding included: a cache with an empty memo each pass, so every lookup embeds its query.
    lookupWithEmbed: op(queries, (q, i) => {
      if (i === 0) fresh = new SemanticCache(db, caps, embedder, SETTINGS);
      return fresh.lookup(ADDRESS, q, { threshold, mode: 'on' });
    }),
    retrieveAndGenerate: op(demoQueries, async (q) => {
      const r = await search(q);
      await generateAnswer(uncached, { question: q, passages: r.passages, context: { tenantId: TENANT } });
    }),
  });
  const outcomes = { hit: 0, miss: 0 };
  for (const q of queries) outcomes[(await semantic.lookup(ADDRESS, q, { threshold, mode: 'on' })).outcome === 'hit' ? 'hit' : 'miss']++;
  // The guard alone, on the candidates a lookup weighs (those at or above the threshold, until one passes).
  const guardMs: number[] = [];
  for (const q of queries) {
    for (const c of await semantic.nearest(ADDRESS, vectors.get(q)!)) {
      if (c.similarity < threshold) break;
      const t0 = performance.now();
      const same = compareQueries(q, c.query).same;
      guardMs.push(performance.now() - t0);
      if (same) break;
    }
  }
  ops.guard = stat(guardMs);
  const recall = await top1Recall(db, queries.map((q) => vectors.get(q)!), semantic);
  ops.store = await timed(queries.slice(0, 40), (q) => semantic.store(ADDRESS, `${q} (stored)`, { answer: 'x'.repeat(800) }), 1);
  for (const [name, s] of Object.entries(ops)) ctx.log(`cache (b): ${name} p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms`);

  const guardCallsPerLookup = guardMs.length / queries.length;
  return report({ ops, outcomes, guardCallsPerLookup, threshold, usesHnsw, semanticPlan, exactPlan, exactLoad, semanticLoad, recall, queries: queries.length, demoQueries: demoQueries.length, label: database.label });
}

/** Bulk rows in SQL: 100,000 entries, a quarter the measured tenant's, most of them model answers of about 1 kB. */
async function loadExactEntries(db: BenchDatabase['db'], tenantOf: (i: number) => string) {
  const t0 = performance.now();
  const tenants = Array.from({ length: ENTRIES }, (_, i) => tenantOf(i));
  await db.query(
    `INSERT INTO cache_entries (tenant_id, layer, scope, key, value, bytes, expires_at)
     SELECT t.tenant,
            CASE WHEN t.i % 20 < 14 THEN 'model' WHEN t.i % 20 < 19 THEN 'retrieval' ELSE 'tool' END,
            CASE WHEN t.i % 10 = 0 THEN 'user-' || (t.i % 97) ELSE '' END,
            encode(sha256(('entry ' || t.i)::bytea), 'hex'),
            jsonb_build_object('content', 'Answer ' || t.i || ': ' || repeat(md5(t.i::text) || ' ', 30), 'model', 'bench-model', 'costUsd', 0.0042),
            1100, now() + interval '1 day'
     FROM unnest($1::text[]) WITH ORDINALITY AS t(tenant, i)`,
    [tenants],
  );
  await db.query('VACUUM ANALYZE cache_entries');
  return { ms: performance.now() - t0, rows: Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM cache_entries')).rows[0]!.n) };
}

/**
 * 100,000 semantic entries. The pairs' cached queries (`b`) are stored once each with their real
 * MiniLM embeddings at the measured address. Every other entry is a copy of one of them — its
 * text, and its embedding perturbed: Gaussian noise, renormalised, at a cosine of 0.5–0.9 to the
 * real one. So a lookup lands in a populated neighbourhood, as among a tenant's real questions
 * (uniform random vectors would leave every neighbour far and every lookup trivially a miss),
 * and the guard weighs real sentences: a paraphrase's candidates are its `b` and pass, a near
 * miss's are its `b` and are each blocked — the guard's worst case, all candidates compared.
 * The HNSW index is dropped for the load and built after it in one pass (the migration's
 * definition), as a restore would; then VACUUM ANALYZE.
 */
async function loadSemanticEntries(db: BenchDatabase['db'], embedder: Embedder, random: () => number, tenantOf: (i: number) => string, real: Array<{ query: string; vector: Float32Array }>) {
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const perturb = (base: Float32Array) => {
    // For a unit vector plus noise of variance s² per dimension, cos ≈ 1 / sqrt(1 + d·s²).
    const c = 0.5 + 0.4 * random();
    const s = Math.sqrt((1 / (c * c) - 1) / base.length);
    const v = base.map((x) => x + s * gauss());
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  const routeOf = () => {
    let r = random();
    for (const [route, share] of ROUTES) if ((r -= share) < 0) return route;
    return ROUTES[0]![0];
  };
  const t0 = performance.now();
  await db.query('DROP INDEX semantic_cache_embedding_idx');
  const value = JSON.stringify({ answer: `${'Returns are accepted within 30 days of delivery [1]. '.repeat(12)}`, citations: [{ index: 1, documentId: 'returns' }] });
  const batch = 2000;
  for (let from = 0; from < ENTRIES; from += batch) {
    const rows = Array.from({ length: Math.min(batch, ENTRIES - from) }, (_, k) => {
      const i = from + k;
      const tenant = tenantOf(i);
      const realEntry = tenant === TENANT && i < real.length ? real[i] : undefined;
      const base = real[Math.floor(random() * real.length)]!;
      return {
        tenant,
        route: realEntry ? ADDRESS.route : routeOf(),
        // One in five at the previous policy version's context, one in ten kept to a user.
        scope: realEntry || random() >= 0.1 ? '' : `user-${Math.floor(random() * 50)}`,
        context: realEntry || random() >= 0.2 ? ADDRESS.contextKey : 'ctx-previous',
        // One entry per question at an address (the table's unique index): a copy's text is told
        // apart by a word the guard reads as nothing (lowercase letters, no un-/in-/dis- prefix).
        query: realEntry?.query ?? `${base.query} (variant ${variantWord(i)})`,
        embedding: toVectorParam(realEntry?.vector ?? perturb(base.vector)),
      };
    });
    await db.query(
      `INSERT INTO semantic_cache_entries (tenant_id, route, scope, context_key, collection, corpus_version, query, embedder, embedding, value, bytes, expires_at)
       SELECT t.tenant, t.route, t.scope, t.context, 'demo', 1, t.query, $6, t.embedding::vector, $7::jsonb, $8, now() + interval '1 day'
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $9::text[]) AS t(tenant, route, scope, context, query, embedding)`,
      [rows.map((r) => r.tenant), rows.map((r) => r.route), rows.map((r) => r.scope), rows.map((r) => r.context), rows.map((r) => r.query), embedder.id, value, value.length + 1600, rows.map((r) => r.embedding)],
    );
  }
  const rowsMs = performance.now() - t0;
  const ti = performance.now();
  await inTransaction(db, async (client) => {
    await client.query(`SET LOCAL maintenance_work_mem = '512MB'`);
    await client.query('CREATE INDEX semantic_cache_embedding_idx ON semantic_cache_entries USING hnsw (embedding vector_cosine_ops)');
  });
  const indexMs = performance.now() - ti;
  await db.query('VACUUM ANALYZE semantic_cache_entries');
  const { rows } = await db.query<{ total: string; tenant: string; address: string }>(
    `SELECT count(*) AS total, count(*) FILTER (WHERE tenant_id = $1) AS tenant,
            count(*) FILTER (WHERE tenant_id = $1 AND route = $2 AND scope = $3 AND context_key = $4) AS address
     FROM semantic_cache_entries`,
    [ADDRESS.tenantId, ADDRESS.route, ADDRESS.scope, ADDRESS.contextKey],
  );
  return { rowsMs, indexMs, total: Number(rows[0]!.total), tenant: Number(rows[0]!.tenant), address: Number(rows[0]!.address), realEntries: real.length };
}

/** How often the HNSW lookup's nearest entry is the exact nearest at the address (a seq scan with the same filter). */
async function top1Recall(db: BenchDatabase['db'], vectors: Float32Array[], semantic: SemanticCache): Promise<number> {
  let same = 0;
  for (const v of vectors) {
    const [approx] = await semantic.nearest(ADDRESS, v, 1);
    const { rows } = await db.query<{ id: string }>(
      `SELECT id::text FROM semantic_cache_entries
       WHERE tenant_id = $2 AND route = $3 AND scope = $4 AND context_key = $5 AND expires_at > now()
       ORDER BY (embedding <=> $1::vector) + 0, id LIMIT 1`,
      [toVectorParam(v), ADDRESS.tenantId, ADDRESS.route, ADDRESS.scope, ADDRESS.contextKey],
    );
    if (approx?.id === rows[0]?.id) same++;
  }
  return same / vectors.length;
}

interface Measured {
  ops: Record<string, Stat>;
  outcomes: { hit: number; miss: number };
  guardCallsPerLookup: number;
  threshold: number;
  usesHnsw: boolean;
  semanticPlan: string;
  exactPlan: string;
  exactLoad: { ms: number; rows: number };
  semanticLoad: Awaited<ReturnType<typeof loadSemanticEntries>>;
  recall: number;
  queries: number;
  demoQueries: number;
  label: string;
}

function report(m: Measured) {
  const o = m.ops;
  const ratio = (x: number) => `${fmt(x, x < 10 ? 1 : 0)}×`;
  const row = (name: string, s: Stat | undefined, baseline?: Stat) => [name, fmt(s?.p50 ?? NaN), fmt(s?.p95 ?? NaN), fmt(s?.p99 ?? NaN), baseline && s ? ratio(baseline.p50 / s.p50) : ''];
  const head = ['operation', 'p50 (ms)', 'p95 (ms)', 'p99 (ms)', 'baseline p50 ÷ this p50'];
  const exactMet = o.exactHit!.p99 <= TARGETS.exactP99 && o.exactMiss!.p99 <= TARGETS.exactP99;
  const exactWorst = Math.max(o.exactHit!.p99, o.exactMiss!.p99);
  const semP99 = o.lookup!.p99;
  const semFullP99 = o.lookupWithEmbed!.p99;
  const share = (n: number) => `${fmt((100 * n) / m.semanticLoad.total, 1)}%`;
  const markdown = [
    '### (b) Lookup latency on native Postgres at 100,000 entries',
    '',
    `${m.label}, on this machine, one connection at a time, after ${WARMUP} warm-up calls each; ${ROUNDS} rounds, each a pass of every operation over its inputs, interleaved so drift falls on all alike. ` +
      `**Baselines** — the uncached path each lookup replaces, measured in the same run: for the model layer, \`generateAnswer\` through \`ModelGateway\` (admission, usage ledger) ` +
      `to the scripted OpenAI-compatible server (test/support/scripted-model-server.ts) answering **at once** — a floor, chosen because the offline local model is extractive code, not a model, ` +
      `and neither it nor a zero-latency server has a real provider's generation time (hundreds of ms to seconds), so every ratio below is a lower bound; ` +
      `for the retrieval layer, \`retrieveHybrid\` on the demo collection (${m.demoQueries} demo queries of pairs.ts, MiniLM query embedding included); ` +
      `for the semantic layer, retrieval + generation of the answer (the two above in sequence).`,
    '',
    `**Exact cache**: ${m.exactLoad.rows.toLocaleString('en-US')} rows in cache_entries (8 tenants, the measured one holding ${fmt(100 * TENANT_SHARE, 0)}%; model, retrieval and tool layers; ~1 kB values), bulk-inserted in SQL in ${fmt(m.exactLoad.ms / 1000, 1)} s. ` +
      `A hit is the product's \`UPDATE … RETURNING\` (it counts the hit); plan: ${/Index Scan using cache_entries_pkey/.test(m.exactPlan) ? 'an index scan of the primary key' : 'see cache.json'}.`,
    '',
    table(head, [
      row('round trip `SELECT 1` (for scale)', o.rtt),
      row('**ExactCache.get, hit**', o.exactHit, o.modelCall),
      row('**ExactCache.get, miss**', o.exactMiss, o.modelCall),
      row('generateAnswer through the gateway, model-cache hit', o.modelCallHit, o.modelCall),
      row('baseline: generateAnswer, model call (zero-latency server)', o.modelCall),
      row('cachedRetrieval, hit (corpus version + get)', o.retrievalHit, o.retrieveHybrid),
      row('baseline: retrieveHybrid on the demo collection', o.retrieveHybrid),
    ]),
    '',
    `**Target — exact lookup p99 ≤ ${TARGETS.exactP99} ms:** hit ${fmt(o.exactHit!.p99)} ms, miss ${fmt(o.exactMiss!.p99)} ms → ${verdict(exactMet, `${fmt(exactWorst - TARGETS.exactP99)} ms`)}.` +
      (exactMet
        ? ''
        : ` Why: a lookup is one primary-key probe (and, on a hit, one row update) — p50 ${fmt(o.exactHit!.p50)} ms, ${fmt(o.exactHit!.p50 / o.rtt!.p50, 1)}× the bare round trip; ` +
          `but on this machine the bare round trip \`SELECT 1\` alone has a p99 of ${fmt(o.rtt!.p99)} ms, so the tail is the scheduling of a shared 2-core machine (load average in the footnote), not the lookup's work.`),
    '',
    `**Semantic cache**: ${m.semanticLoad.total.toLocaleString('en-US')} rows in semantic_cache_entries — the measured tenant holds ${share(m.semanticLoad.tenant)}, the lookups' address (tenant, route \`${ADDRESS.route}\`, shared scope, current context) ${m.semanticLoad.address.toLocaleString('en-US')} rows (${share(m.semanticLoad.address)}); ` +
      `vectors are perturbations of real MiniLM query embeddings (cosine 0.5–0.9 to a pairs.ts query), plus the ${m.semanticLoad.realEntries} cached queries of pairs.ts with their real embeddings at the address. ` +
      `Rows loaded in ${fmt(m.semanticLoad.rowsMs / 1000, 0)} s without the HNSW index, which was then built in ${fmt(m.semanticLoad.indexMs / 1000, 0)} s (the migration's definition, m 16, ef_construction 64). ` +
      `Lookups: the ${m.queries} new queries (\`a\`) of pairs.ts at threshold ${fmt(m.threshold, 2)} (part (a)'s operating point), guard on — ${m.outcomes.hit} of them hit, ${m.outcomes.miss} miss. ` +
      `**Plan: ${m.usesHnsw ? 'the HNSW index (`Index Scan using semantic_cache_embedding_idx`), with the address as a filter and pgvector\'s iterative scan' : 'NOT the HNSW index — see the plan in cache.json'}**; ` +
      `the lookup's nearest entry is the exact nearest at its address (a filtered seq scan) for ${fmt(100 * m.recall, 1)}% of queries — ` +
      `the filtered HNSW scan (ef_search at pgvector's default 40, relaxed order) can miss the true nearest, which costs a hit, never serves a wrong one (the guard still judges what it finds).`,
    '',
    table(head, [
      row('embed the query (MiniLM, one query)', o.embed),
      row('SemanticCache.nearest (4 candidates)', o.nearest, o.retrieveAndGenerate),
      row(`the guard, per candidate compared (${fmt(m.guardCallsPerLookup, 1)} per lookup)`, o.guard),
      row('**SemanticCache.lookup (nearest + guard + hit count), embedding memoised**', o.lookup, o.retrieveAndGenerate),
      row('**SemanticCache.lookup with its embedding** (embed + nearest + guard)', o.lookupWithEmbed, o.retrieveAndGenerate),
      row('baseline: retrieveHybrid + generateAnswer (zero-latency model)', o.retrieveAndGenerate),
      row('SemanticCache.store after a miss (insert; the budget is trimmed only when the running estimate passes it)', o.store),
    ]),
    '',
    `**Target — semantic lookup p99 ≤ ${TARGETS.semanticP99} ms:** without the embedding ${fmt(semP99)} ms → ${verdict(semP99 <= TARGETS.semanticP99, `${fmt(semP99 - TARGETS.semanticP99)} ms`)}; ` +
      `with it ${fmt(semFullP99)} ms → ${verdict(semFullP99 <= TARGETS.semanticP99, `${fmt(semFullP99 - TARGETS.semanticP99)} ms`)}. ` +
      `Where the time goes, at p50: nearest ${fmt(o.nearest!.p50)} ms (four round trips: BEGIN, the iterative-scan setting, the query, COMMIT), the guard ${fmt(o.guard!.p50)} ms per candidate × ${fmt(m.guardCallsPerLookup, 1)} candidates per lookup ` +
      `(each query's analysis is kept per process, so a repeated cached question is parsed once), and on a hit the UPDATE that counts it. ` +
      `The tail is mostly the machine: nearest's p99 is ${fmt(o.nearest!.p99)} ms against a p50 of ${fmt(o.nearest!.p50)} ms, and the bare round trip's p99 is ${fmt(o.rtt!.p99)} ms on this shared 2-core machine; the guard's own p99 is ${fmt(o.guard!.p99)} ms. ` +
      `The embedding (MiniLM on the CPU, p50 ${fmt(o.embed!.p50)} ms, p99 ${fmt(o.embed!.p99)} ms) comes on top. On a miss, retrieval then embeds the same question again for its own search: handing it the lookup's vector would make the embedding free on the miss path.`,
  ].join('\n');
  return {
    markdown,
    data: { entries: ENTRIES, tenantShare: TENANT_SHARE, address: ADDRESS, threshold: m.threshold, targets: TARGETS, ops: m.ops, outcomes: m.outcomes, guardCallsPerLookup: m.guardCallsPerLookup, usesHnsw: m.usesHnsw, top1Recall: m.recall, exactLoad: m.exactLoad, semanticLoad: m.semanticLoad, plans: { semantic: m.semanticPlan, exact: m.exactPlan } },
  };
}

/** A lowercase word for i, from letters that spell no number, date, negation or antonym prefix. */
function variantWord(i: number): string {
  const letters = 'bcfghjkmpqrstvwxz';
  let word = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / letters.length)) word += letters[n % letters.length];
  return word;
}

