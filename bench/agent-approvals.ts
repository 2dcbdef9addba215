// (f) Open tasks waiting for approval (the agents issue's benchmark (b)): N runAgent tasks
// whose scripted model proposes a write action (send_email), so each stops at its approval
// gate; the worker's memory while all N wait; then every one approved (status query →
// decideApproval Update, bounded concurrency) and timed until all N workflows have completed.
// Target at 1,000 tasks: worker RSS ≤ 1 GB and all approved and finished within 30 s;
// 10,000 tasks reported. A reference run at 1,000 uses a smaller sticky cache.
// The worker runs in a child process of its own, so its memory is the worker's alone.
// BENCH_SMOKE=1 runs tiny sizes to check the wiring.
import { cpus } from 'node:os';
import type { WorkflowHandle } from '@temporalio/client';
import type { ChatRequestBody, ChatResponder } from '../test/support/scripted-model-server.js';
import { agentStatusQuery, decideApprovalUpdate, type AgentResult, type ApprovalOutcome, type Approver } from '../workflows/messages.js';
import { agentInput, BENCH_TENANT } from './lib/agent-config.js';
import { devServerPid, machineBusyMs, mapLimit, processMemory, processTreeCpuMs, startAgentStack, startWorkerProcess, type AgentStack } from './lib/agent-stack.js';
import { fmt, table } from './lib/stats.js';
import type { Bench } from './lib/bench.js';

const SMOKE = process.env.BENCH_SMOKE === '1';
const SIZES = SMOKE ? [10, 30] : [1_000, 10_000];
const TARGET_TASKS = SIZES[0]!;
const TARGET_RSS_BYTES = 1024 ** 3;
const TARGET_SECONDS = 30;
/** A reference run at the target size: the same worker with a smaller sticky cache. */
const REFERENCE_CACHE = SMOKE ? 5 : 250;
const START_CONCURRENCY = 64;
const APPROVE_CONCURRENCY = 32;
const WRITE_TOOL = 'send_email';
const EMAIL = { to: 'john.doe@example.com', subject: 'Your order', body: 'Your order has shipped.' };
const APPROVER: Approver = { keyId: 'bench', tenantId: BENCH_TENANT, roles: ['admin'] };
const MB = 1024 ** 2;

/** Proposes the email once; after its tool result (the executed action) answers "done". */
function approvalResponder(): ChatResponder {
  return (req: ChatRequestBody) => {
    const offered = (req.tools ?? []).some((t) => 'function' in t && t.function.name === WRITE_TOOL);
    if (!offered) return { content: 'ok', usage: { promptTokens: 10, completionTokens: 1 } };
    if (req.messages.some((m) => m.role === 'tool')) return { content: 'done', usage: { promptTokens: 80, completionTokens: 1 } };
    return { toolCalls: [{ name: WRITE_TOOL, arguments: EMAIL }], usage: { promptTokens: 60, completionTokens: 20 } };
  };
}

/** Samples a process's RSS every `ms` until stopped; returns the samples' maximum. */
function sampler(pid: number, ms = 250) {
  let max = 0;
  let samples = 0;
  const timer = setInterval(() => {
    processMemory(pid)
      .then((m) => {
        max = Math.max(max, m.rss);
        samples++;
      })
      .catch(() => undefined);
  }, ms);
  return {
    stop() {
      clearInterval(timer);
      return { maxRss: max, samples };
    },
  };
}

/** CPU per task of a phase, in ms: the machine's busy time, and by process. */
interface PhaseCpu {
  machine: number;
  worker: number;
  temporal: number;
  postgres: number;
  /** The benchmark process: the Temporal client and the scripted model server. */
  bench: number;
}

/** Measures the CPU a phase costs per task (see PhaseCpu). */
async function cpuMeter(tasks: number) {
  const [tree0, busy0] = [await processTreeCpuMs(), await machineBusyMs()];
  return async (): Promise<PhaseCpu> => {
    const [tree1, busy1] = [await processTreeCpuMs(), await machineBusyMs()];
    return {
      machine: (busy1 - busy0) / tasks,
      worker: (tree1.other - tree0.other) / tasks,
      temporal: (tree1.temporal - tree0.temporal) / tasks,
      postgres: (tree1.postgres - tree0.postgres) / tasks,
      bench: (tree1.self - tree0.self) / tasks,
    };
  };
}

interface SizeResult {
  tasks: number;
  /** The worker's sticky cache size; `reference` marks the smaller-cache variant. */
  maxCachedWorkflows: number;
  reference: boolean;
  startSeconds: number;
  openSeconds: number;
  workerIdleRss: number;
  /** RSS with all tasks waiting, after a short settle. */
  workerOpenRss: number;
  workerOpenPeakRss: number;
  approveSeconds: number;
  finishSeconds: number;
  workerApprovePeakRss: number;
  workerPeakRss: number;
  devServerRss?: number;
  cpuOpen: PhaseCpu;
  cpuApprove: PhaseCpu;
  outcomes: Record<string, number>;
  endReasons: Record<string, number>;
  actions: Record<string, number>;
  failures: string[];
}

export const run: Bench = async (ctx) => {
  const stack = await startAgentStack();
  stack.model.onChat(approvalResponder());
  const results: SizeResult[] = [];
  try {
    const runs = [
      { size: TARGET_TASKS, cache: undefined },
      { size: TARGET_TASKS, cache: REFERENCE_CACHE },
      ...SIZES.slice(1).map((size) => ({ size, cache: undefined })),
    ];
    for (const { size, cache } of runs) {
      ctx.log(`approvals: ${size} tasks${cache ? ` (maxCachedWorkflows ${cache})` : ''}`);
      results.push(await measure(ctx, stack, size, cache));
    }
  } finally {
    await stack.stop();
  }
  const data = { smoke: SMOKE, sizes: SIZES, startConcurrency: START_CONCURRENCY, approveConcurrency: APPROVE_CONCURRENCY, results };
  return { title: '(f) Agent approvals: open tasks waiting for a human', markdown: report(data), data };
};

async function measure(ctx: { log(m: string): void }, stack: AgentStack, size: number, maxCachedWorkflows?: number): Promise<SizeResult> {
  const label = `${size}${maxCachedWorkflows !== undefined ? `-cache${maxCachedWorkflows}` : ''}`;
  const taskQueue = `bench-approvals-${label}`;
  const prefix = `approve-${label}-`;
  // A fresh worker per run, so each run's memory starts from the same idle worker.
  const worker = await startWorkerProcess(stack, taskQueue, { maxCachedWorkflows });
  try {
    await new Promise((r) => setTimeout(r, 2_000));
    const idle = await worker.memory();
    const openSampler = sampler(worker.pid);
    const openCpu = await cpuMeter(size);
    const input = agentInput([WRITE_TOOL]);
    const t0 = performance.now();
    const handles = await mapLimit(
      Array.from({ length: size }, (_, i) => i),
      START_CONCURRENCY,
      (i) => stack.startAgent(`${prefix}${i}`, taskQueue, input),
    );
    const startSeconds = (performance.now() - t0) / 1000;
    ctx.log(`  started ${size} in ${fmt(startSeconds, 1)} s; waiting until all wait for approval`);
    await waitForPending(stack, prefix, size, handles, ctx);
    const openSeconds = (performance.now() - t0) / 1000;
    const cpuOpen = await openCpu();
    await new Promise((r) => setTimeout(r, 3_000));
    const open = await worker.memory();
    const openPeak = openSampler.stop();
    const serverPid = await devServerPid();
    const devServerRss = serverPid ? (await processMemory(serverPid)).rss : undefined;
    ctx.log(`  all ${size} waiting after ${fmt(openSeconds, 1)} s; worker RSS ${fmt(open.rss / MB, 0)} MB (peak ${fmt(open.peak / MB, 0)} MB)`);

    // Approve every task: read its pending approval through the status query, decide it
    // through the Update (as the API does), then wait until every workflow has completed.
    const approveSampler = sampler(worker.pid);
    const approveCpu = await cpuMeter(size);
    const outcomes: Record<string, number> = {};
    const failures: string[] = [];
    const a0 = performance.now();
    let decided = 0;
    const progress = setInterval(() => ctx.log(`  ${decided}/${size} decided after ${fmt((performance.now() - a0) / 1000, 0)} s`), 30_000);
    await mapLimit(handles, APPROVE_CONCURRENCY, async (handle) => {
      try {
        const status = await handle.query(agentStatusQuery);
        const pending = status.pendingApprovals[0];
        if (!pending) throw new Error(`no pending approval (phase ${status.phase})`);
        const outcome: ApprovalOutcome = await handle.executeUpdate(decideApprovalUpdate, {
          args: [{ approvalId: pending.approvalId, decision: 'approve', argumentsHash: pending.argumentsHash, approver: APPROVER }],
        });
        outcomes[outcome.status] = (outcomes[outcome.status] ?? 0) + 1;
      } catch (err) {
        if (failures.length < 5) failures.push(`${handle.workflowId}: ${String(err).slice(0, 200)}`);
        outcomes.error = (outcomes.error ?? 0) + 1;
      }
      decided++;
    });
    clearInterval(progress);
    const approveSeconds = (performance.now() - a0) / 1000;
    ctx.log(`  ${size} decided in ${fmt(approveSeconds, 1)} s; waiting for completion`);
    await waitForCompletion(stack, taskQueue, size, a0, ctx);
    const finishSeconds = (performance.now() - a0) / 1000;
    const cpuApprove = await approveCpu();
    const approvePeak = approveSampler.stop();
    ctx.log(`  all ${size} finished ${fmt(finishSeconds, 1)} s after the first approval`);

    const endReasons: Record<string, number> = {};
    const actions: Record<string, number> = {};
    await mapLimit(handles, 64, async (handle) => {
      try {
        const result = (await handle.result()) as AgentResult;
        endReasons[result.endReason] = (endReasons[result.endReason] ?? 0) + 1;
        for (const a of result.actions ?? []) actions[`${a.tool}:${a.status}`] = (actions[`${a.tool}:${a.status}`] ?? 0) + 1;
      } catch (err) {
        endReasons.failed = (endReasons.failed ?? 0) + 1;
        if (failures.length < 10) failures.push(`${handle.workflowId} result: ${String(err).slice(0, 200)}`);
      }
    });
    const final = await worker.memory();
    return {
      tasks: size,
      maxCachedWorkflows: worker.maxCachedWorkflows,
      reference: maxCachedWorkflows !== undefined,
      startSeconds,
      openSeconds,
      workerIdleRss: idle.rss,
      workerOpenRss: open.rss,
      workerOpenPeakRss: Math.max(openPeak.maxRss, open.rss),
      approveSeconds,
      finishSeconds,
      workerApprovePeakRss: approvePeak.maxRss,
      workerPeakRss: final.peak,
      devServerRss,
      cpuOpen,
      cpuApprove,
      outcomes,
      endReasons,
      actions,
      failures,
    };
  } finally {
    await worker.stop();
  }
}

/** Until `size` approvals of this run are pending: the approvals index in Postgres, else the status queries. */
async function waitForPending(stack: AgentStack, prefix: string, size: number, handles: WorkflowHandle[], ctx: { log(m: string): void }): Promise<void> {
  const deadline = Date.now() + Math.max(120_000, size * 100);
  let lastLog = Date.now();
  let viaQueries = false;
  for (;;) {
    let pending: number;
    if (!viaQueries) {
      const { rows } = await stack.services.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM approvals WHERE tenant_id = $1 AND task_id LIKE $2 AND status = 'pending'",
        [BENCH_TENANT, `${prefix}%`],
      );
      pending = rows[0]!.n;
    } else {
      const phases = await mapLimit(handles, 32, async (h) => (await h.query(agentStatusQuery)).pendingApprovals.length > 0);
      pending = phases.filter(Boolean).length;
    }
    if (pending >= size) return;
    if (Date.now() - lastLog > 10_000) {
      ctx.log(`  ${pending}/${size} waiting for approval`);
      lastLog = Date.now();
      // The index lags or is not written: ask the workflows (only affordable for small sizes).
      if (!viaQueries && pending === 0 && size <= 2_000) {
        const first = await handles[0]!.query(agentStatusQuery);
        if (first.pendingApprovals.length > 0) viaQueries = true;
      }
    }
    if (Date.now() > deadline) throw new Error(`only ${pending} of ${size} tasks reached their approval gate`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Until no workflow of this task queue is running (visibility count), polled every 100 ms. */
async function waitForCompletion(stack: AgentStack, taskQueue: string, size: number, since: number, ctx: { log(m: string): void }): Promise<void> {
  const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
  let lastLog = Date.now();
  const deadline = Date.now() + Math.max(300_000, size * 200);
  for (;;) {
    const { count } = await stack.client.workflow.count(query);
    if (count === 0) return;
    if (Date.now() - lastLog > 10_000) {
      ctx.log(`  ${count}/${size} still running ${fmt((performance.now() - since) / 1000, 0)} s after the first approval`);
      lastLog = Date.now();
    }
    if (Date.now() > deadline) throw new Error(`${count} of ${size} tasks still running after approval`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The section's markdown from the measured data (exported so a report can be re-rendered from its JSON). */
export function report(d: { smoke: boolean; results: SizeResult[] }): string {
  const target = d.results.find((r) => r.tasks === TARGET_TASKS && !r.reference)!;
  const reference = d.results.find((r) => r.reference);
  const rssOk = target.workerPeakRss <= TARGET_RSS_BYTES;
  const timeOk = target.finishSeconds <= TARGET_SECONDS;
  const answered = (r: SizeResult) => r.endReasons.answered ?? 0;
  const allDone = (r: SizeResult) => answered(r) === r.tasks;
  const n = (x: number) => x.toLocaleString('en-US');
  const name = (r: SizeResult) => `${n(r.tasks)}${r.reference ? ` (cache ${r.maxCachedWorkflows})` : ''}`;
  const lines: string[] = [];
  if (d.smoke) lines.push('**Smoke run (BENCH_SMOKE=1): tiny sizes, numbers are not meaningful.**', '');
  lines.push(
    `Each task is \`runAgent\` (mode "loop", tools [\`${WRITE_TOOL}\`]) whose scripted model proposes one \`${WRITE_TOOL}\` write action, so the task stops at its approval gate. ` +
      `Tasks are started through the Temporal client (${START_CONCURRENCY} starts in flight); "open" is when every one has its approval pending (the approvals index in Postgres). ` +
      `Then each is approved the way the API does it — the \`status\` query for the pending approval and its arguments hash, then the \`decideApproval\` Update (${APPROVE_CONCURRENCY} in flight) — ` +
      'after which the workflow executes the email through the action ledger, asks the model again, gets "done" and completes; "finished" is when the visibility count of running tasks reaches zero, timed from the first approval. ' +
      'The Gatehouse worker runs alone in a child process (createServices + createWorker, prebuilt workflow bundle, default worker options); RSS is its VmRSS (VmHWM for the peak) from /proc. ' +
      `Embedded Temporal dev server (in-memory SQLite), native Postgres, scripted model over HTTP, all on this ${cpus().length}-core machine; a fresh worker per row. ` +
      `The "cache ${REFERENCE_CACHE}" row is a reference: createWorker with \`maxCachedWorkflows: ${REFERENCE_CACHE}\` (WORKER_MAX_CACHED_WORKFLOWS).`,
    '',
    table(
      ['open tasks', 'worker sticky cache (workflows)', 'all open after (s)', 'worker RSS idle (MB)', 'RSS, all open (MB)', 'RSS peak (MB)', 'Updates done (s)', 'all finished (s)', 'answered', 'dev server RSS, all open (MB)'],
      d.results.map((r) => [
        name(r),
        n(r.maxCachedWorkflows),
        fmt(r.openSeconds, 1),
        fmt(r.workerIdleRss / MB, 0),
        fmt(r.workerOpenRss / MB, 0),
        fmt(r.workerPeakRss / MB, 0),
        fmt(r.approveSeconds, 1),
        fmt(r.finishSeconds, 1),
        `${n(answered(r))} / ${n(r.tasks)}`,
        r.devServerRss ? fmt(r.devServerRss / MB, 0) : 'n/a',
      ]),
    ),
    '',
    'CPU per task (ms), busy time of every core (/proc/stat) and by process (the worker process, the Temporal dev server, Postgres, the benchmark process with the client and the scripted model):',
    '',
    table(
      ['open tasks', 'phase', 'machine', 'worker', 'Temporal server', 'Postgres', 'client + model', `CPU-bound ceiling on ${cpus().length} cores (tasks/s)`, 'measured (tasks/s)'],
      d.results.flatMap((r) =>
        ([['start → all waiting', r.cpuOpen, r.openSeconds], ['approve → all finished', r.cpuApprove, r.finishSeconds]] as const).map(([phase, c, seconds]) => [
          name(r),
          phase,
          fmt(c.machine, 1),
          fmt(c.worker, 1),
          fmt(c.temporal, 1),
          fmt(c.postgres, 1),
          fmt(c.bench, 1),
          fmt((cpus().length * 1000) / c.machine, 0),
          fmt(r.tasks / seconds, 0),
        ]),
      ),
    ),
    '',
    `Per open task, the worker held ${d.results.map((r) => `${fmt((r.workerOpenRss - r.workerIdleRss) / r.tasks / 1024, 0)} KB (${name(r)})`).join(', ')} above its idle RSS. ` +
      `Update outcomes: ${d.results.map((r) => `${name(r)}: ${JSON.stringify(r.outcomes)}`).join('; ')}. ` +
      `Actions: ${d.results.map((r) => `${name(r)}: ${JSON.stringify(r.actions)}`).join('; ')}.`,
    '',
    `**Target — ${n(TARGET_TASKS)} open tasks with worker RSS ≤ 1 GB:** peak ${fmt(target.workerPeakRss / MB, 0)} MB (${fmt(target.workerOpenRss / MB, 0)} MB with all open) → ` +
      `${rssOk ? 'met' : `**missed** by ${fmt((target.workerPeakRss - TARGET_RSS_BYTES) / MB, 0)} MB (${fmt((target.workerPeakRss / TARGET_RSS_BYTES - 1) * 100, 0)} % over)`}.`,
    '',
    `**Target — all ${n(TARGET_TASKS)} approved and finished within ${TARGET_SECONDS} s:** ${fmt(target.finishSeconds, 1)} s, ${n(answered(target))} answered → ` +
      `${timeOk && allDone(target) ? 'met' : `**missed**${timeOk ? '' : ` by ${fmt(target.finishSeconds - TARGET_SECONDS, 1)} s`}${allDone(target) ? '' : ` (${n(target.tasks - answered(target))} did not end answered)`}`}.`,
  );
  if (reference) {
    lines.push(
      '',
      `Reference — the same ${n(reference.tasks)} tasks on a worker with \`maxCachedWorkflows: ${reference.maxCachedWorkflows}\`: RSS peak ${fmt(reference.workerPeakRss / MB, 0)} MB ` +
        `(${fmt(Math.abs(reference.workerPeakRss - target.workerPeakRss) / MB, 0)} MB ${reference.workerPeakRss <= target.workerPeakRss ? 'less' : 'more'} than with the default cache), all finished ${fmt(reference.finishSeconds, 1)} s after the first approval ` +
        `(evicted workflows replay their short history when the query and the Update arrive).`,
    );
  }
  for (const r of d.results.filter((x) => x.tasks !== TARGET_TASKS && !x.reference)) {
    lines.push(
      '',
      `**${n(r.tasks)} open tasks (reported, no target):** all open after ${fmt(r.openSeconds, 0)} s, worker RSS ${fmt(r.workerOpenRss / MB, 0)} MB with all open (peak ${fmt(r.workerPeakRss / MB, 0)} MB), ` +
        `all approved and finished ${fmt(r.finishSeconds, 0)} s after the first approval (${fmt(r.tasks / r.finishSeconds, 0)} tasks/s), ${n(answered(r))} answered.`,
    );
  }
  const failures = d.results.flatMap((r) => r.failures);
  if (failures.length) lines.push('', `Failures (first few): ${failures.map((f) => `\`${f}\``).join('; ')}`);
  if (!rssOk || !timeOk || !allDone(target)) {
    const why: string[] = [];
    if (!rssOk) {
      why.push(
        `*Memory.* The worker keeps the workflows it runs in its sticky cache, and the SDK's default size comes from the V8 heap limit (${n(target.maxCachedWorkflows)} workflows here), so all ${n(TARGET_TASKS)} open tasks stay resident, ` +
          `about ${fmt((target.workerOpenRss - target.workerIdleRss) / target.tasks / 1024, 0)} KB each (workflow state in its V8 context, the transcript and the payloads it received) on top of an idle worker of ${fmt(target.workerIdleRss / MB, 0)} MB.` +
          (reference ? ` A smaller cache bounds it (the reference row: ${fmt(reference.workerPeakRss / MB, 0)} MB at ${reference.maxCachedWorkflows}).` : ''),
      );
    }
    if (!timeOk || !allDone(target)) {
      const c = target.cpuApprove;
      why.push(
        `*Time.* Finishing a task after its approval takes a status query, the Update (a workflow task), the ledgered action activity, the approval-index activities, a model activity and the completion — ` +
          `several round trips through the one-shard dev server per task. It is CPU-bound here: each approved task cost ${fmt(c.machine, 1)} ms of machine CPU ` +
          `(worker ${fmt(c.worker, 1)}, Temporal server ${fmt(c.temporal, 1)}, Postgres ${fmt(c.postgres, 1)}, client and model ${fmt(c.bench, 1)}), so ${cpus().length} cores finish at most ~${fmt((cpus().length * 1000) / c.machine, 0)} tasks/s ` +
          `(measured ${fmt(target.tasks / target.finishSeconds, 0)}); ${n(TARGET_TASKS)} in ${TARGET_SECONDS} s needs ${fmt(TARGET_TASKS / TARGET_SECONDS, 0)} tasks/s, about ${fmt((TARGET_TASKS / TARGET_SECONDS) * c.machine / 1000, 1)} cores at this cost.`,
      );
    }
    lines.push('', `Why missed: ${why.join(' ')}`);
  }
  lines.push('', 'Command: `npm run bench -- approvals` (`BENCH_SMOKE=1` for a quick wiring check).');
  return lines.join('\n');
}
