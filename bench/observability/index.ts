// The cost of watching (issue 13 part 10): an answer task and a 20-step agent task with tracing
// and metrics off and on, side by side in one run, on one stack — the embedded Temporal dev server,
// native Postgres, the scripted model server answering at once (so the platform's own time is all
// there is to slow down), workers in this process.
//
//   off   a worker and client without Temporal's OpenTelemetry interceptors, no tracer provider
//         registered (every span a no-op), nothing scraping the metrics.
//   on    the default when tracing is configured: the traced workflow bundle, the worker's and
//         client's interceptors, the provider registered and exporting over OTLP/HTTP to a real
//         Jaeger (all-in-one, in-memory; an in-process OTLP sink when no Jaeger is built), and the
//         metrics registry scraped every second as Prometheus would.
//   lean  the same with GATEHOUSE_TRACE_WORKFLOW_SPANS=false: the bundle passes the trace context
//         through the workflow (workers/workflow-trace-headers.ts) and makes no workflow spans.
//
// Gatehouse's own counters and histograms (prom-client) count in every mode: they are
// module-level and cannot be turned off, so "off" still pays for them; what the traced modes add
// for metrics is the scrape. Every round runs each mode's answer and agent task, the modes' order rotating
// between rounds, so drift on a shared machine falls on all of them. Wall time from start to result.
// Target: ≤ 5 % added latency per task (p50). OBS_BENCH_ROUNDS sets the rounds (default 30).
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection } from '@temporalio/worker';
import { loadDemoCorpus } from '../../infra/demo/seed.js';
import { metricsRegistry } from '../../infra/metrics.js';
import { FAILURE_CONVERTER_PATH } from '../../infra/payload-codec.js';
import { clientInterceptors } from '../../infra/temporal.js';
import { startTracing } from '../../infra/tracing.js';
import { tracingSettings } from '../../infra/tracing-config.js';
import { indexDocuments } from '../../test/support/corpus.js';
import { jaegerBinary, startJaeger, type JaegerServer } from '../../test/support/jaeger.js';
import { WORKFLOW_TRACE_HEADER_MODULES, WORKFLOW_TRACING_MODULES } from '../../workers/tracing.js';
import { createWorker, WORKFLOWS_PATH } from '../../workers/worker.js';
import type { AgentResult, AnswerResult, AnswerTaskInput } from '../../workflows/messages.js';
import { groundedAnswer } from '../cache/answer-hit-vs-miss.js';
import { benchLookupTool, BENCH_TOOL_NAME, loopResponder } from '../lib/agent-baselines.js';
import { agentDeps, agentInput, BENCH_TENANT } from '../lib/agent-config.js';
import { startAgentStack, startInProcessWorker } from '../lib/agent-stack.js';
import type { Bench } from '../lib/bench.js';
import { fmt, percentile, table } from '../lib/stats.js';

const STEPS = 20;
const ROUNDS = Number(process.env.OBS_BENCH_ROUNDS ?? 30);
const WARMUP = 3;
const TARGET = 1.05;
const OPTIONS = { mode: 'ensemble' as const, topK: 8, candidates: 50, rrfK: 60, efSearch: 100 };
const QUESTIONS = ['How long do I have to return a printer?', 'How do I clear a paper jam?', 'What does the warranty cover?', 'How do I reset the printer to factory settings?'];

type Mode = 'off' | 'lean' | 'on';
const MODES: Mode[] = ['off', 'lean', 'on'];
type Kind = 'answer' | 'agent';

/** Counts what reaches the exporter (the span volume a task makes), passing every span on. */
class CountingExporter implements SpanExporter {
  spans = 0;
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans += spans.length;
    this.inner.export(spans, done);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** Without a built Jaeger: an OTLP/HTTP endpoint in this process that reads each request and answers 200. */
async function startOtlpSink(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, stop: () => new Promise((r) => server.close(() => r())) };
}

export const run: Bench = async (ctx) => {
  const loadBefore = os.loadavg();
  const stack = await startAgentStack();
  const stops: Array<() => Promise<unknown>> = [() => stack.stop()];
  try {
    const counters = { agent: 0, other: 0 };
    const agentTurn = loopResponder(STEPS, counters);
    // Agent turns get the 20-step script; an answer's generation a grounded, cited sentence; anything else (JSON asks) what the loop answers.
    stack.model.onChat((req) => {
      const others = counters.other;
      const reply = agentTurn(req);
      const json = req.response_format?.type === 'json_object' || req.response_format?.type === 'json_schema';
      return counters.other === others || json ? reply : { content: groundedAnswer(req), usage: { promptTokens: 1200, completionTokens: 40 } };
    });
    await indexDocuments(stack.services, { tenantId: BENCH_TENANT, collection: 'default', documents: await loadDemoCorpus() });

    const binary = await jaegerBinary();
    let jaeger: JaegerServer | undefined;
    let endpoint: string;
    if (binary) {
      jaeger = await startJaeger(binary);
      stops.push(() => jaeger!.stop());
      endpoint = jaeger.otlpEndpoint;
    } else {
      const sink = await startOtlpSink();
      stops.push(() => sink.stop());
      endpoint = sink.endpoint;
    }
    const backend = jaeger ? 'Jaeger all-in-one v1.75.0 (in-memory storage)' : 'an in-process OTLP/HTTP sink (no Jaeger built)';
    ctx.log(`observability: exporting to ${backend}`);
    const service = 'gatehouse-bench';
    const settings = tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: service })!;
    const exporter = new CountingExporter(new OTLPTraceExporter({ url: settings.tracesEndpoint }));
    const tracing = startTracing(settings, { serviceName: service, exporter })!;
    stops.push(() => tracing.shutdown());

    // Off: the stack's plain bundle, worker and client. On and lean: their bundle, the interceptors, a client with the OpenTelemetry interceptor.
    const offWorker = await startInProcessWorker(stack, 'obs-off', [benchLookupTool]);
    stops.push(() => offWorker.stop());
    const startTracedWorker = async (mode: Mode, modules: string[]) => {
      const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, workflowInterceptorModules: modules, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } });
      const codePath = path.join(stack.scratch, `workflow-bundle-${mode}.js`);
      await writeFile(codePath, bundle.code);
      const connection = await NativeConnection.connect({ address: stack.temporalAddress });
      const worker = await createWorker({
        connection,
        namespace: 'default',
        taskQueue: `obs-${mode}`,
        deps: agentDeps(stack.services, stack.config, stack.log, [benchLookupTool]),
        dataConverter: stack.dataConverter,
        workflowBundle: { codePath },
        tracing: { ...tracing, workflowSpans: mode === 'on' },
      });
      const running = worker.run();
      stops.push(async () => {
        worker.shutdown();
        await running;
        await connection.close();
      });
    };
    await startTracedWorker('on', WORKFLOW_TRACING_MODULES);
    await startTracedWorker('lean', WORKFLOW_TRACE_HEADER_MODULES);
    const tracedClient = new Client({ connection: stack.client.connection, namespace: 'default', dataConverter: stack.dataConverter, interceptors: clientInterceptors(true) });
    const clients: Record<Mode, Client> = { off: stack.client, lean: tracedClient, on: tracedClient };

    // One scrape a second, as Prometheus would scrape a busy service, taken only while a traced mode runs.
    let current: Mode = 'off';
    const scrapes = { count: 0, bytes: 0 };
    const scraper = setInterval(() => {
      if (current !== 'off') void metricsRegistry.metrics().then((text) => ((scrapes.count += 1), (scrapes.bytes = text.length)));
    }, 1_000);
    stops.push(async () => clearInterval(scraper));
    const setMode = (mode: Mode) => {
      current = mode;
      trace.disable();
      context.disable();
      propagation.disable();
      if (mode !== 'off') tracing.provider.register();
    };

    let n = 0;
    /** A task's wall time, and the CPU this process (client, worker, activities, exporter) spent meanwhile. */
    const runTask = async (mode: Mode, kind: Kind): Promise<{ ms: number; cpuMs: number }> => {
      setMode(mode);
      const client = clients[mode];
      const taskQueue = `obs-${mode}`;
      const workflowId = `obs-${mode}-${kind}-${n++}`;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      if (kind === 'answer') {
        const input: AnswerTaskInput = { tenantId: BENCH_TENANT, collection: 'default', question: QUESTIONS[n % QUESTIONS.length]!, conversation: [], options: OPTIONS };
        const result = (await client.workflow.execute('answerQuestion', { taskQueue, workflowId, args: [input] })) as AnswerResult;
        if (!result.answer || result.citations.length === 0) throw new Error(`answerQuestion (${mode}) answered without citations: ${JSON.stringify(result.answer).slice(0, 200)}`);
      } else {
        const result = (await client.workflow.execute('runAgent', { taskQueue, workflowId, args: [agentInput([BENCH_TOOL_NAME])] })) as AgentResult;
        if (result.endReason !== 'answered' || result.used?.toolCalls !== STEPS) throw new Error(`runAgent (${mode}) ended with ${result.endReason} after ${result.used?.toolCalls} tool calls`);
      }
      const cpu = process.cpuUsage(cpu0);
      return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
    };

    for (let i = 0; i < WARMUP; i++) for (const mode of MODES) for (const kind of ['answer', 'agent'] as const) await runTask(mode, kind);
    const perMode = (): Record<Mode, number[]> => ({ off: [], lean: [], on: [] });
    const times: Record<Kind, Record<Mode, number[]>> = { answer: perMode(), agent: perMode() };
    const cpu: Record<Kind, Record<Mode, number[]>> = { answer: perMode(), agent: perMode() };
    const spans: Record<Mode, number> = { off: 0, lean: 0, on: 0 };
    const exportCpu: Record<Mode, number[]> = perMode();
    for (let round = 0; round < ROUNDS; round++) {
      // off, lean, on; then lean, on, off; then on, off, lean.
      const modes = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
      for (const mode of modes) {
        // Spans a mode's tasks end while it runs; flushed before the next mode, so each counts its own.
        const before = exporter.spans;
        for (const kind of ['answer', 'agent'] as const) {
          const { ms, cpuMs } = await runTask(mode, kind);
          times[kind][mode].push(ms);
          cpu[kind][mode].push(cpuMs);
        }
        if (mode !== 'off') {
          const cpu0 = process.cpuUsage();
          await tracing.flush();
          const used = process.cpuUsage(cpu0);
          exportCpu[mode].push((used.user + used.system) / 1000);
          spans[mode] += exporter.spans - before;
        }
      }
      if ((round + 1) % 10 === 0) ctx.log(`observability: ${round + 1}/${ROUNDS} rounds`);
    }
    setMode('on');
    await tracing.flush();
    const spansPerRound = { lean: spans.lean / ROUNDS, on: spans.on / ROUNDS };
    const exportCpuPerRound = { lean: percentile(exportCpu.lean, 50), on: percentile(exportCpu.on, 50) };
    const tracesInJaeger = jaeger ? await countTraces(jaeger.queryUrl, service) : undefined;
    setMode('off');
    const loadAfter = os.loadavg();
    return report({ times, cpu, spansPerRound, exportCpuPerRound, scrapes, backend, tracesInJaeger, loadBefore, loadAfter });
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
};

async function countTraces(queryUrl: string, service: string): Promise<number> {
  const res = await fetch(`${queryUrl}/api/traces?service=${service}&limit=100000&lookback=1h`);
  return ((await res.json()) as { data: unknown[] }).data.length;
}

type Traced = Exclude<Mode, 'off'>;

function report(r: {
  times: Record<Kind, Record<Mode, number[]>>;
  cpu: Record<Kind, Record<Mode, number[]>>;
  spansPerRound: Record<Traced, number>;
  exportCpuPerRound: Record<Traced, number>;
  scrapes: { count: number; bytes: number };
  backend: string;
  tracesInJaeger?: number;
  loadBefore: number[];
  loadAfter: number[];
}) {
  const traced: Traced[] = ['on', 'lean'];
  const rows = (['answer', 'agent'] as const).flatMap((kind) =>
    traced.map((mode) => {
      const off = r.times[kind].off;
      const on = r.times[kind][mode];
      const ratio50 = percentile(on, 50) / percentile(off, 50);
      const ratio95 = percentile(on, 95) / percentile(off, 95);
      const cpuOff = percentile(r.cpu[kind].off, 50);
      const cpuOn = percentile(r.cpu[kind][mode], 50);
      return { kind, mode, off50: percentile(off, 50), on50: percentile(on, 50), off95: percentile(off, 95), on95: percentile(on, 95), ratio50, ratio95, met: ratio50 <= TARGET, cpuOff, cpuOn };
    }),
  );
  const label: Record<Kind, string> = { answer: 'answer task (answerQuestion)', agent: `agent task (runAgent, ${STEPS} tool steps + the answer)` };
  const modeLabel: Record<Traced, string> = { on: 'on (default)', lean: 'on, no workflow spans' };
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const markdown = [
    `An answer task and a ${STEPS}-step agent task, each run ${r.times.answer.off.length} times in each of three modes, interleaved (every round runs each mode's answer and agent task, the modes' order rotating between rounds) after ${WARMUP} warm-up rounds. Same process, same Temporal dev server, native Postgres and scripted model server (answers at once). **Off**: no tracer provider (every span a no-op), no Temporal interceptors, nothing scraping. **On (default)**, what an operator gets by setting \`OTEL_EXPORTER_OTLP_ENDPOINT\`: the traced workflow bundle, Temporal's OpenTelemetry interceptors on worker and client, the GenAI spans, batched OTLP/HTTP export to ${r.backend}, and the metrics registry serialised every second as a Prometheus scrape would (${r.scrapes.count} scrapes, ${Math.round(r.scrapes.bytes / 1024)} KiB each). **On, no workflow spans**: the same with \`GATEHOUSE_TRACE_WORKFLOW_SPANS=false\` — the sandbox makes no RunWorkflow/StartActivity spans and only passes the client's trace context on to the activities (workers/workflow-trace-headers.ts), so each task is still one trace. Gatehouse's counters count in every mode (they cannot be turned off); off pays for them too. The spans a mode's two tasks made are exported right after them, outside their timing; that export's CPU is the last table.`,
    '',
    table(
      ['task', 'mode', 'off p50 (ms)', 'on p50 (ms)', 'ratio p50', 'off p95 (ms)', 'on p95 (ms)', 'ratio p95', 'target ≤ 1.05 (p50)'],
      rows.map((x) => [label[x.kind], modeLabel[x.mode], fmt(x.off50, 1), fmt(x.on50, 1), fmt(x.ratio50, 3), fmt(x.off95, 1), fmt(x.on95, 1), fmt(x.ratio95, 3), x.met ? 'met' : `**missed** by ${fmt(100 * (x.ratio50 - TARGET), 1)} points`]),
    ),
    '',
    'CPU this process spent per task (client, worker, workflow threads and activities all run in it; the Temporal server, Postgres and Jaeger are other processes), p50 — less sensitive to a busy machine than wall time:',
    '',
    table(
      ['task', 'mode', 'off CPU (ms)', 'on CPU (ms)', 'added CPU (ms)', 'ratio'],
      rows.map((x) => [label[x.kind], modeLabel[x.mode], fmt(x.cpuOff, 1), fmt(x.cpuOn, 1), fmt(x.cpuOn - x.cpuOff, 1), fmt(x.cpuOn / x.cpuOff, 3)]),
    ),
    '',
    table(
      ['mode', 'spans per round (one answer + one agent task)', 'CPU to export them, p50 (ms)'],
      traced.map((m) => [modeLabel[m], fmt(r.spansPerRound[m], 0), fmt(r.exportCpuPerRound[m], 1)]),
    ),
    '',
    r.tracesInJaeger !== undefined ? `Traces Jaeger holds for the service at the end: ${r.tracesInJaeger} (one per traced task, warm-up included).` : '',
    '',
    "Where the added time goes (`node --cpu-prof` runs of this benchmark): in the default mode most of it is in the workflow sandbox — `@temporalio/interceptors-opentelemetry`'s workflow interceptors wrap the run and every scheduled activity in async spans inside an AsyncLocalStorage context, and the SDK captures and source-maps a stack trace for every promise the sandbox creates (its stack-trace query), so the promises those wrappers add cost more than the spans themselves. An agent step schedules two activities (decide, the tool), so the agent task pays per step. Without workflow spans the sandbox does no more work than untraced; what is left is the activities' RunActivity and GenAI spans, the client's StartWorkflow span and the scrape.",
    '',
    `Load average (1 / 5 / 15 min) before: ${load(r.loadBefore)}; after: ${load(r.loadAfter)}, on ${os.cpus().length} cores — a machine shared with other work: the ratios compare runs interleaved under the same load, the absolute times do not carry over.`,
  ].join('\n');
  return {
    title: '(o) Cost of watching: tracing and metrics off, on, and on without workflow spans',
    markdown,
    data: { rows, cpu: r.cpu, spansPerRound: r.spansPerRound, exportCpuPerRound: r.exportCpuPerRound, scrapes: r.scrapes, backend: r.backend, tracesInJaeger: r.tracesInJaeger, loadBefore: r.loadBefore, loadAfter: r.loadAfter, times: r.times },
  };
}
