// Where a log line came from. Activities, the gateway and the caches log through one pino
// logger (or its children) and cannot all be handed the activity's ids; instead the worker runs
// each activity inside an AsyncLocalStorage context (workers/activity-log-context.ts) and the
// logger's mixin (infra/logger.ts) adds that context to every line written while it runs — the
// gateway's and the caches' lines too, with no logger passed down for it.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LogContext {
  /** The root task of the workflow: `task_1` for a sub-task `task_1.agent` (infra/workflow-tenants.ts rootWorkflowId). */
  taskId?: string;
  workflowId?: string;
  runId?: string;
  /** The activity type, e.g. `retrieve`. */
  activity?: string;
  attempt?: number;
  tenantId?: string;
}

/** The active span's ids, in OpenTelemetry's hex form. */
export interface SpanIds {
  traceId: string;
  spanId: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs fn with these fields on every line it logs (nested contexts add to the outer one). */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...context }, fn);
}

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

// Tracing (infra/tracing.ts) sets the source to OpenTelemetry's active span when it starts and
// unsets it when it stops: with tracing off, lines carry no trace ids rather than made-up ones.
let activeSpanIds: () => SpanIds | undefined = () => undefined;

/** Where the active span's ids come from (the tracer, once there is one). */
export function useSpanIds(source: () => SpanIds | undefined): void {
  activeSpanIds = source;
}

/** What the logger adds to a line: the context's ids, and the active span's when there is one. */
export function logContextFields(): Record<string, unknown> {
  const context = storage.getStore();
  const span = activeSpanIds();
  if (!context && !span) return {};
  return { ...context, ...(span ? { traceId: span.traceId, spanId: span.spanId } : {}) };
}

// The SDK's own lines about a workflow (its sink-based `log`) are written outside any activity,
// after the activation: their tenant is the one this process last saw an activity of the same
// task carry. Bounded; a task whose activities have not run here yet logs without one.
const MAX_TASK_TENANTS = 10_000;
const taskTenants = new Map<string, string>();

export function rememberTaskTenant(taskId: string, tenantId: string): void {
  if (taskTenants.size >= MAX_TASK_TENANTS) taskTenants.clear();
  taskTenants.set(taskId, tenantId);
}

export function knownTaskTenant(taskId: string): string | undefined {
  return taskTenants.get(taskId);
}
