// Temporal's OpenTelemetry interceptors on the worker (@temporalio/interceptors-opentelemetry):
// a `RunActivity:<type>` span around every activity, the parent of the spans it opens
// (infra/spans.ts), and, inside the workflow sandbox, `RunWorkflow:<type>` and
// `StartActivity:<type>` / `StartChildWorkflow:<type>` spans whose context travels to the
// activity in its headers. The sandbox cannot export: its spans leave through the SDK's
// `exporter` sink to this process's span processor.
//
// Replay: sinks are not called while a workflow task replays (the SDK's default), so a run that
// is replayed after an eviction or a restart exports no span twice; the sandbox's span ids come
// from its seeded Math.random, so a replayed span has the id it had. The workflow interceptors
// add only headers to the commands (which replay does not compare) and, since SDK 1.13.2, no
// extra yields (SdkFlags.OpenTelemetryInterceporsAvoidsExtraYields): every recorded history still
// replays with them — test/workflows/replay.test.ts replays them all with this module bundled.
//
// With GATEHOUSE_TRACE_WORKFLOW_SPANS=false the sandbox gets workers/workflow-trace-headers.ts
// instead: no workflow spans, the client's trace context passed on to the activities.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { Tracing } from '../infra/tracing.js';

const require = createRequire(import.meta.url);

/** The workflow interceptor modules to bundle when tracing is on (bundleWorkflowCode's workflowInterceptorModules). */
export const WORKFLOW_TRACING_MODULES: string[] = [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];
/** What to bundle instead when the workflow makes no spans of its own: the trace context only passes through. */
export const WORKFLOW_TRACE_HEADER_MODULES: string[] = [fileURLToPath(new URL('./workflow-trace-headers.ts', import.meta.url))];

/** The workflow interceptor modules a worker with this tracing bundles. */
export function workflowTracingModules(tracing: Pick<Tracing, 'workflowSpans'>): string[] {
  return tracing.workflowSpans ? WORKFLOW_TRACING_MODULES : WORKFLOW_TRACE_HEADER_MODULES;
}

export interface WorkerTracing {
  activity: ActivityInterceptorsFactory;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's sink map is typed per sink
  sinks: InjectedSinks<any>;
}

export function workerTracing(tracing: Tracing): WorkerTracing {
  return {
    activity: (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    // Without workflow spans nothing calls the sink; it stays so that a bundle built either way runs.
    sinks: { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) },
  };
}
