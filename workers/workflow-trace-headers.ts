// Bundled into the workflow sandbox instead of @temporalio/interceptors-opentelemetry's workflow
// interceptors when GATEHOUSE_TRACE_WORKFLOW_SPANS=false: the trace context the client put in the
// workflow's start headers is copied, as it is, into the headers of every activity and child
// workflow the run schedules, so their RunActivity spans are children of the StartWorkflow span
// and a task is still one trace. It makes no span, so the sandbox needs no context manager
// (AsyncLocalStorage) and no async wrapper around each command: the promises those add are what
// makes the workflow spans cost (bench/results/observability.md). The header is the library's own
// (`_tracer-data`), so the worker's activity interceptor reads it unchanged.
//
// Synchronous and free of I/O, as sandbox code must be; it adds a header, which replay does not
// compare, so recorded histories replay with it (test/workflows/replay.test.ts).
import type { Payload } from '@temporalio/common';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** The header @temporalio/interceptors-opentelemetry carries a span context in (its TRACE_HEADER). */
const TRACE_HEADER = '_tracer-data';

export const interceptors: WorkflowInterceptorsFactory = () => {
  // Per run: the SDK calls this factory once for each workflow it starts.
  let started: Payload | undefined;
  const withTrace = <T extends { headers: Record<string, Payload> }>(input: T): T =>
    started && !input.headers[TRACE_HEADER] ? { ...input, headers: { ...input.headers, [TRACE_HEADER]: started } } : input;
  return {
    inbound: [
      {
        execute(input, next) {
          started = input.headers[TRACE_HEADER];
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => next(withTrace(input)),
        scheduleLocalActivity: (input, next) => next(withTrace(input)),
        startChildWorkflowExecution: (input, next) => next(withTrace(input)),
      },
    ],
  };
};
