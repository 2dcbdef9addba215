// Creating a Gatehouse worker: every workflow, every activity, one task queue.
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { Runtime, Worker, makeTelemetryFilterString, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { knownTaskTenant } from '../infra/log-context.js';
import type { Logger } from '../infra/logger.js';
import { WorkflowTenants, rootWorkflowId } from '../infra/workflow-tenants.js';
import type { Tracing } from '../infra/tracing.js';
import { activityLogContext } from './activity-log-context.js';
import { workerTracing, workflowTracingModules } from './tracing.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

let runtimeInstalled = false;

/**
 * Route the SDK's own logs into our logger, once per process, and leave signal handling to
 * the process owner (infra/main.ts, workers/main.ts) so shutdown happens in a known order.
 * With `metricsAddress` (GATEHOUSE_TEMPORAL_METRICS_ADDRESS), the SDK's worker metrics (polls,
 * task latencies, slots, sticky cache) are served there for Prometheus, by the SDK's core itself:
 * they live in Rust, not in prom-client's registry, so they get a port of their own.
 */
export function installRuntime(parent: Logger, opts: { metricsAddress?: string } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // The SDK is chatty at info (bundle sizes, poller starts): keep its warnings and errors.
  const level = parent.levelVal < 30 || parent.levelVal > 40 ? parent.level : 'warn';
  const log = parent.child({ component: 'temporal-sdk' }, { level });
  try {
    installWith(log, opts.metricsAddress);
  } catch (err) {
    // Someone (a dev server, a connection) already created the default runtime: keep it.
    log.debug({ err: String(err) }, 'Temporal runtime already installed');
  }
}

function installWith(log: Logger, metricsAddress: string | undefined): void {
  const line = (meta: Record<string, unknown> | undefined) => {
    // The OpenTelemetry interceptors name the span trace_id / span_id / trace_flags; Gatehouse's lines say traceId / spanId.
    const { trace_id: _t, span_id: _s, trace_flags: _f, ...rest } = meta ?? {};
    return { ...rest, ...sdkLogFields(meta), sdk: true };
  };
  Runtime.install({
    shutdownSignals: [],
    logger: {
      log: (level, message, meta) => log[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error')](line(meta), message),
      trace: (message, meta) => log.trace(line(meta), message),
      debug: (message, meta) => log.debug(line(meta), message),
      info: (message, meta) => log.info(line(meta), message),
      warn: (message, meta) => log.warn(line(meta), message),
      error: (message, meta) => log.error(line(meta), message),
    },
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      // Prometheus' naming rules: counters end in _total, durations in seconds with their unit.
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } } } : {}),
    },
  });
}

/**
 * The SDK's lines about a workflow or an activity in Gatehouse's field names: the SDK names the
 * workflow (its sink-based workflow `log` too) and the activity type, Gatehouse's lines name the
 * task, the run and the activity. A workflow's line is written after its activation, outside any
 * activity, so its tenant is the one the task's activities last carried in this process.
 */
export function sdkLogFields(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const workflowId = typeof meta?.workflowId === 'string' ? meta.workflowId : undefined;
  if (!workflowId) return {};
  const taskId = rootWorkflowId(workflowId);
  const runId = meta?.runId ?? meta?.workflowRunId;
  const tenantId = knownTaskTenant(taskId);
  return {
    taskId,
    ...(typeof runId === 'string' ? { runId } : {}),
    ...(typeof meta?.activityType === 'string' ? { activity: meta.activityType } : {}),
    ...(tenantId ? { tenantId } : {}),
    ...(typeof meta?.trace_id === 'string' && typeof meta.span_id === 'string' ? { traceId: meta.trace_id, spanId: meta.span_id } : {}),
  };
}

export interface GatehouseWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /**
   * gatehouseDataConverter(keyRing) (infra/payload-codec.ts): required, so no worker writes
   * plain payloads to history. A pre-built workflowBundle must have been bundled with its
   * failureConverterPath (the sandbox's failure converter is fixed at bundle time).
   */
  dataConverter: DataConverter;
  /** A pre-built workflow bundle (tests and benchmarks build it once); default: bundle from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
  /**
   * Workflows kept in the worker's sticky cache. The SDK's default scales with the heap (2,310
   * here), and every cached run of a waiting agent task holds memory: a smaller cache trades
   * replays on wake-up for a bounded RSS (bench/results/approvals.md measures both).
   */
  maxCachedWorkflows?: number;
  /**
   * Tracing (infra/tracing.ts), when on: Temporal's OpenTelemetry interceptors (workers/tracing.ts).
   * A pre-built workflowBundle must have been bundled with workflowTracingModules(tracing) for
   * the workflow's spans (or its trace context); without them, activity spans start traces of
   * their own.
   */
  tracing?: Tracing;
}

export async function createWorker(opts: GatehouseWorkerOptions): Promise<Worker> {
  installRuntime(opts.deps.log);
  const tenants = new WorkflowTenants(opts.deps.db);
  const traced = opts.tracing ? workerTracing(opts.tracing) : undefined;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(opts.deps),
    dataConverter: opts.dataConverter,
    interceptors: {
      // The span first, so the activity's log context and its lines run inside it.
      activity: [...(traced ? [traced.activity] : []), activityLogContext((workflowId) => tenants.tenantOf(workflowId))],
      ...(opts.tracing && !opts.workflowBundle ? { workflowModules: workflowTracingModules(opts.tracing) } : {}),
    },
    ...(traced ? { sinks: traced.sinks } : {}),
    // Activities in flight get this long to finish before shutdown cancels them.
    shutdownGraceTime: '20 seconds',
    maxConcurrentActivityTaskExecutions: 20,
    maxConcurrentLocalActivityExecutions: 20,
    ...(opts.maxCachedWorkflows ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
  });
}
