// (c) An answer task end to end on a cache hit vs a miss: answerQuestion started and awaited
// through the Temporal client on a local dev server, a real worker in this process wired by
// createServices (as `npm start` wires it), native Postgres, MiniLM embeddings (retrieval and the
// semantic cache) and the scripted model server answering at once. Twice: GATEHOUSE_CACHE=exact
// (retrieval and model responses) and GATEHOUSE_CACHE=all (the semantic layer on). For each
// question: a fresh question (a miss: every layer misses, then stores), the same question again,
// and a paraphrase of it. Wall time from start to result.
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { compareQueries } from '../../activities/cache/false-hit-guard.js';
import { createLogger } from '../../infra/logger.js';
import { gatehouseDataConverter } from '../../infra/payload-codec.js';
import { createServices } from '../../infra/services.js';
import { startTemporalDevServer } from '../../infra/stack.js';
import { loadDemoCorpus } from '../../infra/demo/seed.js';
import { createWorker, installRuntime } from '../../workers/worker.js';
import type { answerQuestion } from '../../workflows/answer.js';
import type { AnswerResult, AnswerTaskInput } from '../../workflows/messages.js';
import type { Embedder } from '../../activities/retrieval/embedder.js';
import { indexDocuments } from '../../test/support/corpus.js';
import { startNativePostgres } from '../../test/support/native-postgres.js';
import { startScriptedModelServer, type ChatRequestBody } from '../../test/support/scripted-model-server.js';
import { BENCH_MODEL } from '../gateway/common.js';
import { testConfig } from '../../test/support/harness-config.js';
import type { Config } from '../../infra/config.js';
import { fmt, percentile, table } from '../lib/stats.js';
import { cosine, loadMiniLm, operatingPoint, type CachePart } from './common.js';
import { QUERY_PAIRS } from './pairs.js';

const QUESTIONS = Number(process.env.CACHE_BENCH_QUESTIONS ?? 20);
const WARMUP = 3;
const OPTIONS = { mode: 'ensemble' as const, topK: 8, candidates: 50, rrfK: 60, efSearch: 100 };

type Scenario = 'miss' | 'repeat' | 'paraphrase';
const LABELS: Record<Scenario, string> = {
  miss: 'a fresh question (the miss)',
  repeat: 'the same question again',
  paraphrase: 'a paraphrase of it',
};

export const answerHitVsMiss: CachePart = async (ctx) => {
  const log = createLogger('silent');
  installRuntime(log);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-cache-bench-'));
  const embedder = await loadMiniLm(ctx);
  const temporal = await startTemporalDevServer({ ip: '127.0.0.1' }, { downloadDir: scratch });
  const model = await startScriptedModelServer({ models: [BENCH_MODEL] });
  model.onChat((req) =>
    String(req.response_format && 'type' in req.response_format ? req.response_format.type : '') === 'json_object'
      ? { content: JSON.stringify({ resolved: true, standalone: 'How long do I have to return a printer?' }), usage: { promptTokens: 100, completionTokens: 10 } }
      : { content: groundedAnswer(req), usage: { promptTokens: 1200, completionTokens: 40 } },
  );
  const pg = await startNativePostgres();
  try {
    const pairs = await chooseQuestions(embedder, ctx.log);
    // Each cache setting has a tenant, a worker and a task queue of its own, so neither sees the other's entries.
    const settings = [];
    for (const layers of ['exact', 'all'] as const) settings.push(await startSetting({ layers, embedder, databaseUrl: pg.url, temporalAddress: temporal.address, modelUrl: model.baseUrl }));
    try {
      for (const s of settings) for (let i = 0; i < WARMUP; i++) await s.ask(`Warm-up question ${i}: how do I print a test page?`);
      // Question by question, the two settings in turn (each question starting with the other one):
      // drift on a shared machine then falls on both alike.
      for (const [k, p] of pairs.entries()) {
        for (const s of k % 2 ? [...settings].reverse() : settings) {
          for (const [scenario, question] of [['miss', p.b], ['repeat', p.b], ['paraphrase', p.a]] as Array<[Scenario, string]>) {
            const { ms, result } = await s.ask(question);
            s.run.times[scenario].push(ms);
            const how = servedBy(result);
            const cache = (result.steps.find((st) => st.name === 'generate')?.detail as { cache?: { outcome?: string; reason?: string } } | undefined)?.cache;
            if (scenario === 'miss' && cache?.outcome === 'uncacheable') s.run.uncacheable.push({ question, reason: cache.reason ?? '' });
            if (process.env.CACHE_BENCH_DEBUG) ctx.log(`cache (c): ${s.run.layers} ${scenario} "${question}" — ${how}, ${fmt(ms)} ms`);
            (s.run.served[scenario][how] ??= []).push(ms);
          }
        }
      }
      for (const { run } of settings) {
        ctx.log(`cache (c): GATEHOUSE_CACHE=${run.layers}: miss p50 ${fmt(percentile(run.times.miss, 50))} ms, repeat ${fmt(percentile(run.times.repeat, 50))} ms, paraphrase ${fmt(percentile(run.times.paraphrase, 50))} ms`);
      }
      return report(settings.map((s) => s.run), pairs.length);
    } finally {
      for (const s of settings) await s.stop();
    }
  } finally {
    await embedder.close?.();
    await pg.stop();
    await model.close();
    await temporal.teardown();
    await rm(scratch, { recursive: true, force: true });
  }
};

interface Run {
  layers: 'exact' | 'all';
  times: Record<Scenario, number[]>;
  /** Each scenario's times by the layer that served the task. */
  served: Record<Scenario, Record<string, number[]>>;
  /** Fresh questions whose answer request the model cache refused, and why. */
  uncacheable: Array<{ question: string; reason: string }>;
}

/** One cache setting: its services, its tenant's demo collection, a worker on its own task queue, and a way to ask. */
async function startSetting(o: { layers: Run['layers']; embedder: Embedder; databaseUrl: string; temporalAddress: string; modelUrl: string }) {
  const log = createLogger('silent');
  const config = cacheBenchConfig(o.modelUrl, o.layers);
  const tenantId = `bench-${o.layers}`;
  const taskQueue = `bench-cache-${o.layers}`;
  const services = await createServices(config, { databaseUrl: o.databaseUrl, log, embedder: o.embedder });
  const dataConverter = gatehouseDataConverter(services.keyRing);
  const nativeConnection = await NativeConnection.connect({ address: o.temporalAddress });
  const connection = await Connection.connect({ address: o.temporalAddress });
  await indexDocuments(services, { tenantId, collection: 'demo', documents: await loadDemoCorpus() });
  const worker = await createWorker({ connection: nativeConnection, namespace: 'default', taskQueue, deps: { ...services, config, log }, dataConverter });
  const running = worker.run();
  const client = new Client({ connection, dataConverter });
  let n = 0;
  return {
    run: { layers: o.layers, times: { miss: [], repeat: [], paraphrase: [] }, served: { miss: {}, repeat: {}, paraphrase: {} }, uncacheable: [] } as Run,
    async ask(question: string) {
      const input: AnswerTaskInput = { tenantId, collection: 'demo', question, conversation: [], options: OPTIONS };
      const t0 = performance.now();
      const result = await client.workflow.execute<typeof answerQuestion>('answerQuestion', { taskQueue, workflowId: `${taskQueue}-${n++}`, args: [input] });
      return { ms: performance.now() - t0, result };
    },
    async stop() {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      // Not services.close(): that would close the embedder the other setting shares.
      await services.db.end();
    },
  };
}

/** GATEHOUSE_CACHE=exact or all (the semantic layer serving) at the operating point's threshold; one model, the scripted server (priced, so a hit's saving shows). */
function cacheBenchConfig(baseUrl: string, layers: Run['layers']): Config {
  return testConfig({
    OPENAI_BASE_URL: baseUrl,
    GATEHOUSE_CHAT_MODEL: BENCH_MODEL,
    GATEHOUSE_MODELS: JSON.stringify([{ name: BENCH_MODEL, inputPricePerMTok: 2, outputPricePerMTok: 8 }]),
    EMBEDDING_PROVIDER: 'local',
    GATEHOUSE_CACHE: layers,
    GATEHOUSE_CACHE_SEMANTIC_MODE: 'on',
    GATEHOUSE_CACHE_SEMANTIC_THRESHOLD: String(operatingPoint.threshold),
  });
}

/**
 * The first sentence of passage [1], cited: an answer the output checks (grounding among them)
 * accept, so every task takes the straight path — one generation, no retry.
 */
export function groundedAnswer(req: ChatRequestBody): string {
  const prompt = req.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
  const body = /<<<UNTRUSTED passage_1>>>\n[^\n]*\n([\s\S]*?)\n<<<END UNTRUSTED/.exec(prompt)?.[1] ?? '';
  // A prose sentence: not a table row or a heading, which the grounding check cannot match to a claim.
  const sentence = body
    .split('\n')
    .filter((line) => !/^\s*[|#]/.test(line))
    .join(' ')
    .match(/[^.!?]+[.!?]/g)
    ?.map((x) => x.trim())
    .find((x) => x.split(/\s+/).length >= 6);
  return sentence ? `${sentence.replace(/[.!?]$/, '')} [1].` : 'I could not find that in the documents.';
}

/** Which layer answered, from the task's steps: 'semantic hit', 'model hit', … or 'model call'. */
function servedBy(result: AnswerResult): string {
  type Detail = { cache?: { outcome?: string; reason?: string }; outcome?: string };
  const step = (name: string) => result.steps.find((s) => s.name === name) as { detail?: Detail } | undefined;
  const semantic = step('semantic_cache');
  if (semantic?.detail?.outcome === 'hit' || semantic?.detail?.cache?.outcome === 'hit') return 'semantic hit';
  const generate = step('generate')?.detail?.cache;
  const retrieve = step('retrieve')?.detail?.cache?.outcome;
  if (generate?.outcome === 'hit') return retrieve === 'hit' ? 'retrieval + model hit' : 'model hit';
  // The reason names the word that made it uncacheable; the report lists the reasons, the table only counts.
  const call = generate?.outcome === 'uncacheable' ? 'model call (the answer request was uncacheable)' : 'model call';
  return retrieve === 'hit' ? `retrieval hit, ${call}` : call;
}

/**
 * Demo paraphrase pairs the semantic cache would serve at the operating point (similarity at or
 * above it, the guard passes) and the exact cache may store (cacheability: not "my …" or "today").
 */
async function chooseQuestions(embedder: Awaited<ReturnType<typeof loadMiniLm>>, log: (m: string) => void) {
  const chosen: Array<{ a: string; b: string; similarity: number }> = [];
  for (const p of QUERY_PAIRS.filter((x) => x.corpus === 'demo' && x.label === 'paraphrase')) {
    if (chosen.length >= QUESTIONS) break;
    if (/\bmy\b|\bme\b|\btoday\b/i.test(`${p.a} ${p.b}`)) continue;
    const [[va], [vb]] = [await embedder.embed([p.a], 'query'), await embedder.embed([p.b], 'query')];
    const similarity = cosine(va!, vb!);
    if (similarity >= operatingPoint.threshold && compareQueries(p.a, p.b).same) chosen.push({ a: p.a, b: p.b, similarity });
  }
  log(`cache (c): ${chosen.length} questions`);
  return chosen;
}

function report(runs: Run[], questions: number) {
  const line = (name: string, xs: number[], miss: number | undefined) => {
    const p50 = percentile(xs, 50);
    return [name, xs.length, fmt(p50), fmt(percentile(xs, 90)), miss === undefined ? '' : `${fmt(miss - p50)} ms (${fmt(miss / p50, 2)}×)`];
  };
  const rows = runs.flatMap((run) => {
    const miss = percentile(run.times.miss, 50);
    // Each scenario, then its tasks grouped by the layer that served them.
    return (Object.keys(LABELS) as Scenario[]).flatMap((s) => [
      line(`**GATEHOUSE_CACHE=${run.layers}: ${LABELS[s]}**`, run.times[s], s === 'miss' ? undefined : miss),
      ...Object.entries(run.served[s]).map(([how, xs]) => line(`— served by: ${how}`, xs, s === 'miss' ? undefined : miss)),
    ]);
  });
  const all = runs.find((r) => r.layers === 'all');
  const semanticServed = all ? Object.entries(all.served.paraphrase).filter(([k]) => k === 'semantic hit').flatMap(([, xs]) => xs).length : 0;
  const exact = runs.find((r) => r.layers === 'exact');
  const uncacheable = exact?.uncacheable ?? [];
  const markdown = [
    '### (c) An answer task end to end: cache hit vs miss',
    '',
    `\`answerQuestion\` started and awaited through the Temporal client (local dev server), a worker in the same process wired by \`createServices\`, native Postgres, ` +
      `MiniLM embeddings, the demo corpus, and the scripted model server answering **at once** with a grounded sentence of the first passage (so the output checks pass and each task takes the straight path). ` +
      `The miss's saving below is therefore only Gatehouse's own work; a real model's generation time — hundreds of ms to seconds — is saved on top of it on every hit. ` +
      `Two settings, each with its own tenant and worker, both running and asked in turn question by question: GATEHOUSE_CACHE=exact (retrieval and model responses) and GATEHOUSE_CACHE=all (the semantic layer on, at ${fmt(operatingPoint.threshold, 2)}). ` +
      `${questions} demo paraphrase pairs of pairs.ts that the semantic cache serves at that threshold: each asks \`b\` fresh (miss), \`b\` again (repeat) and \`a\` (paraphrase), after ${WARMUP} warm-up tasks. ` +
      'Wall time from start to result; "served by" reads the task\'s steps.',
    '',
    table(['scenario', 'tasks', 'p50 (ms)', 'p90 (ms)', 'saved vs the miss (p50)'], rows),
    '',
    all
      ? semanticServed
        ? `With the semantic layer on, ${semanticServed} of ${all.times.paraphrase.length} paraphrases (and every repeat) were answered by the workflow's \`semantic_cache\` step, before retrieval: ` +
          'a hit skips retrieval, context screening, generation and the output checks, but still runs the input guard, the router and the lookup — what remains of its time is mostly the durable steps themselves on this dev server (see the orchestration benchmark, (c)). ' +
          'With the exact layers only, a repeat saves just the retrieval and the zero-latency model call. ' +
          (exact
            ? `What the semantic layer costs a miss (its lookup before retrieval and its store after the answer: two more activities, the question embedded once more): ` +
              `${fmt(percentile(all.times.miss, 50) - percentile(exact.times.miss, 50))} ms at p50 (the miss with it on minus the miss without).`
            : '')
        : '**No paraphrase was served by the semantic layer** (no `semantic_cache` hit in the answers).'
      : '',
    '',
    uncacheable.length
      ? `**A finding: the exact model cache refused ${uncacheable.length} of ${exact!.times.miss.length} of these answers** although none of the questions is time-sensitive or about the asker — so their repeats were served retrieval from the cache but still called the model. ` +
        'The gateway judges cacheability (`cacheability()` in `planCache`, activities/cache/responses.ts) on the request\'s last user message, which for an answer is the retrieved passages *and* the question: ' +
        'a passage that says "current", "now", "latest", "my" or "our" makes the answer time-sensitive or user-specific. Judging the question alone (the `offline.question` the request carries) would fix it; ' +
        `the semantic layer judges the question and cached all ${exact!.times.miss.length}. The refusals: ${uncacheable.map((u) => `"${u.question}" — ${u.reason}`).join('; ')}.`
      : '',
  ].join('\n');
  return { markdown, data: { questions, threshold: operatingPoint.threshold, runs } };
}
