// Replays recorded histories of every workflow against the current workflow code. A change
// that would make a running workflow non-deterministic (a reordered or added command, a
// different activity) fails here, before it can break runs in production.
//
// Re-record (after a deliberate, versioned change) with:
//   npx tsx test/support/record-histories.ts
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { REPLAY_DATA_CONVERTER } from '../support/harness-config.js';

const HISTORIES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'histories');
const WORKFLOW_TYPES = ['answerQuestion', 'ingestDocuments', 'runAgent', 'compensateExecutedAction'];

async function recordedHistories() {
  const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
  // Every workflow type has at least one recorded history.
  for (const type of WORKFLOW_TYPES) expect(files.some((f) => f.startsWith(`${type}-`))).toBe(true);
  return Promise.all(
    // The worker parses the JSON (as the Temporal UI and CLI export it) itself.
    files.map(async (f) => ({ workflowId: f.replace(/\.json$/, ''), history: JSON.parse(await readFile(path.join(HISTORIES, f), 'utf8')) as unknown })),
  );
}

describe('replaying recorded histories', () => {
  it('replays every recorded history with the current workflow code', async () => {
    const histories = await recordedHistories();
    // The replay converter decodes what newer recordings encrypted and passes older, plain ones through.
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') }, dataConverter: REPLAY_DATA_CONVERTER }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(histories.length).toBeGreaterThanOrEqual(13);
  });

  it("replays every recorded history with tracing's workflow interceptors bundled, and exports no span while replaying", async () => {
    const histories = await recordedHistories();
    // The bundle really holds the interceptors (else this test would prove nothing).
    expect(await readFile(inject('tracedWorkflowBundlePath'), 'utf8')).toContain('OpenTelemetryInboundInterceptor');
    // The worker's exporter sink, as workers/tracing.ts wires it, over an in-memory exporter.
    const exported = new InMemorySpanExporter();
    const sinks = { exporter: makeWorkflowExporter(new SimpleSpanProcessor(exported), new Resource({ 'service.name': 'replay' })) };
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: inject('tracedWorkflowBundlePath') }, dataConverter: REPLAY_DATA_CONVERTER, sinks }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    // A replayed workflow task calls no sink: the spans it made the first time are not sent again.
    expect(exported.getFinishedSpans()).toEqual([]);
  });

  it('replays every recorded history with the trace-header interceptor bundled (GATEHOUSE_TRACE_WORKFLOW_SPANS=false)', async () => {
    const histories = await recordedHistories();
    expect(await readFile(inject('traceHeadersWorkflowBundlePath'), 'utf8')).toContain('_tracer-data');
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: inject('traceHeadersWorkflowBundlePath') }, dataConverter: REPLAY_DATA_CONVERTER }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
