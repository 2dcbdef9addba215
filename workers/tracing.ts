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
import { createRequire } from 'node:module';
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

export interface WorkerTracing {
  activity: ActivityInterceptorsFactory;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's sink map is typed per sink
  sinks: InjectedSinks<any>;
}

export function workerTracing(tracing: Tracing): WorkerTracing {
  return {
    activity: (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    sinks: { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) },
  };
}
