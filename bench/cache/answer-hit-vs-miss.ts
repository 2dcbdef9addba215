// (c) An answer task end to end on a cache hit vs a miss: answerQuestion started and awaited
// through the Temporal client on a local dev server, a real worker in this process wired by
// createServices (as `npm start` wires it) with GATEHOUSE_CACHE=all, native Postgres, MiniLM
// embeddings (retrieval and the semantic cache) and the scripted model server answering at once.
// For each question: a fresh question (a miss: every layer misses, then stores), the same
// question again (the exact layers: retrieval and the model response), and a paraphrase of it
// (the semantic layer, when the workflow has it). Wall time from start to result.
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { compareQueries } from '../../activities/cache/false-hit-guard.js';
import { createLogger } from '../../infra/logger.js';
import { gatehouseDataConverter } from '../../infra/payload-codec.js';
import { createServices, type Services } from '../../infra/services.js';
import { startTemporalDevServer } from '../../infra/stack.js';
import { loadDemoCorpus } from '../../infra/demo/seed.js';
import { createWorker, installRuntime } from '../../workers/worker.js';
import type { answerQuestion } from '../../workflows/answer.js';
import type { AnswerResult, AnswerTaskInput } from '../../workflows/messages.js';
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
const TENANT = 'bench';
const OPTIONS = { mode: 'ensemble' as const, topK: 8, candidates: 50, rrfK: 60, efSearch: 100 };

type Scenario = 'miss' | 'repeat' | 'paraphrase';
const LABELS: Record<Scenario, string> = {
  miss: 'fresh question (miss: every layer misses, then stores)',
  repeat: 'the same question again (exact layers: retrieval + model response)',
  paraphrase: 'a paraphrase of it (the semantic layer)',
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
  const config = cacheBenchConfig(model.baseUrl);
  let services: Services | undefined;
  try {
    services = await createServices(config, { databaseUrl: pg.url, log, embedder });
    await indexDocuments(services, { tenantId: TENANT, collection: 'demo', documents: await loadDemoCorpus() });
    const keyRing = services.keyRing;
    const dataConverter = gatehouseDataConverter(keyRing);
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    const worker = await createWorker({ connection: nativeConnection, namespace: 'default', taskQueue: 'bench-cache', deps: { ...services, config, log }, dataConverter });
    const running = worker.run();
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, dataConverter });
    try {
      const pairs = await chooseQuestions(embedder, ctx.log);
      let n = 0;
      const ask = async (question: string) => {
        const input: AnswerTaskInput = { tenantId: TENANT, collection: 'demo', question, conversation: [], options: OPTIONS };
        const t0 = performance.now();
        const result = await client.workflow.execute<typeof answerQuestion>('answerQuestion', { taskQueue: 'bench-cache', workflowId: `cache-bench-${n++}`, args: [input] });
        return { ms: performance.now() - t0, result };
      };
      for (let i = 0; i < WARMUP; i++) await ask(`Warm-up question ${i}: how do I print a test page?`);
      const times: Record<Scenario, number[]> = { miss: [], repeat: [], paraphrase: [] };
      const served: Record<Scenario, Record<string, number[]>> = { miss: {}, repeat: {}, paraphrase: {} };
      for (const p of pairs) {
        for (const [scenario, question] of [['miss', p.b], ['repeat', p.b], ['paraphrase', p.a]] as Array<[Scenario, string]>) {
          const { ms, result } = await ask(question);
          times[scenario].push(ms);
          const how = servedBy(result);
          if (process.env.CACHE_BENCH_DEBUG) ctx.log(`cache (c): ${scenario} "${question}" — ${how}, ${fmt(ms)} ms`);
          (served[scenario][how] ??= []).push(ms);
        }
      }
      ctx.log(`cache (c): miss p50 ${fmt(percentile(times.miss, 50))} ms, repeat ${fmt(percentile(times.repeat, 50))} ms, paraphrase ${fmt(percentile(times.paraphrase, 50))} ms`);
      return report({ times, served, pairs: pairs.length, semanticStep: Object.values(served.paraphrase).length > 0 && Object.keys(served.paraphrase).some((k) => k.startsWith('semantic')) });
    } finally {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
    }
  } finally {
    await services?.close();
    await pg.stop();
    await model.close();
    await temporal.teardown();
    await rm(scratch, { recursive: true, force: true });
  }
};

/** GATEHOUSE_CACHE=all at the operating point's threshold; one model, the scripted server (priced, so a hit's saving shows). */
function cacheBenchConfig(baseUrl: string): Config {
  return testConfig({
    OPENAI_BASE_URL: baseUrl,
    GATEHOUSE_CHAT_MODEL: BENCH_MODEL,
    GATEHOUSE_MODELS: JSON.stringify([{ name: BENCH_MODEL, inputPricePerMTok: 2, outputPricePerMTok: 8 }]),
    EMBEDDING_PROVIDER: 'local',
    GATEHOUSE_CACHE: 'all',
    GATEHOUSE_CACHE_SEMANTIC_THRESHOLD: String(operatingPoint.threshold),
  });
}

/**
 * The first sentence of passage [1], cited: an answer the output checks (grounding among them)
 * accept, so every task takes the straight path — one generation, no retry.
 */
function groundedAnswer(req: ChatRequestBody): string {
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
  const call = generate?.outcome === 'uncacheable' ? `model call (uncacheable: ${generate.reason})` : 'model call';
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

function report(m: { times: Record<Scenario, number[]>; served: Record<Scenario, Record<string, number[]>>; pairs: number; semanticStep: boolean }) {
  const miss = percentile(m.times.miss, 50);
  const line = (name: string, xs: number[], against: boolean) => {
    const p50 = percentile(xs, 50);
    return [name, xs.length, fmt(p50), fmt(percentile(xs, 90)), against ? `${fmt(miss - p50)} ms (${fmt(miss / p50, 2)}×)` : ''];
  };
  // Each scenario, then the tasks of it grouped by which layer served them.
  const rows = (Object.keys(LABELS) as Scenario[]).flatMap((s) => [
    line(`**${LABELS[s]}**`, m.times[s], s !== 'miss'),
    ...Object.entries(m.served[s]).map(([how, xs]) => line(`— served by: ${how}`, xs, s !== 'miss')),
  ]);
  const uncacheable = Object.values(m.served).flatMap((g) => Object.keys(g)).filter((k) => k.includes('uncacheable'));
  const markdown = [
    '### (c) An answer task end to end: cache hit vs miss',
    '',
    `\`answerQuestion\` started and awaited through the Temporal client (local dev server), a worker in the same process wired by \`createServices\` with GATEHOUSE_CACHE=all, native Postgres, ` +
      `MiniLM embeddings, the demo corpus, and the scripted model server answering **at once** (so the miss's saving below is only Gatehouse's own work; a real model's generation time — typically ` +
      `hundreds of ms to seconds — is saved on top of it on every hit). ${m.pairs} demo paraphrase pairs of pairs.ts that the semantic cache serves at the operating point (${fmt(operatingPoint.threshold, 2)}): ` +
      `each asks \`b\` fresh (miss), \`b\` again (repeat) and \`a\` (paraphrase), after ${WARMUP} warm-up tasks. Medians over the ${m.pairs} questions; "served by" reads the task's steps.`,
    '',
    table(['scenario', 'tasks', 'p50 (ms)', 'p90 (ms)', 'saved vs the miss (p50)'], rows),
    '',
    uncacheable.length
      ? `Some repeats were not served from the model cache although the question is an ordinary one: the gateway judges cacheability (\`cacheability()\` in \`planCache\`, activities/cache/responses.ts) on the request's last user message, ` +
        'which for an answer is the retrieved passages *and* the question — so a passage that says "current" (or "now", "latest", "today", "my", "our") makes the answer time-sensitive or user-specific. ' +
        'That is a product bug, not a property of the question; judging the question alone (the `offline.question` the request carries) would fix it.'
      : '',
    '',
    m.semanticStep
      ? 'The paraphrase is served by the workflow\'s `semantic_cache` step.'
      : '**The semantic layer is not in this workflow yet** (no `semantic_cache` step in the answers): the paraphrase row is a miss of every exact layer, measured so the gap is visible; the exact model cache is what was measured.',
  ].join('\n');
  return { markdown, data: { questions: m.pairs, threshold: operatingPoint.threshold, times: m.times, served: m.served, semanticStep: m.semanticStep } };
}
