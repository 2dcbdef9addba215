// The logger's mixin: inside a log context every line carries its fields (and they win over a
// call's own); outside one, none; span ids appear only once a span source is set; the SDK's
// lines get Gatehouse's field names.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { rememberTaskTenant, useSpanIds, withLogContext } from '../../infra/log-context.js';
import { createLogger, withLogFields } from '../../infra/logger.js';
import { sdkLogFields } from '../../workers/worker.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('info', 'log-context-test', new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
  return { log, lines };
}

describe('log context', () => {
  afterEach(() => useSpanIds(() => undefined));

  it('adds the context to every line written inside it, across awaits and child loggers', async () => {
    const { log, lines } = capture();
    const context = { taskId: 'task_1', workflowId: 'task_1.agent', runId: 'run-1', activity: 'retrieve', attempt: 2, tenantId: 'acme' };
    await withLogContext(context, async () => {
      await new Promise((r) => setTimeout(r, 1));
      log.child({ component: 'gateway' }).info({ taskId: 'task_1.agent', tenantId: 'acme' }, 'inside');
    });
    log.info('outside');
    expect(lines[0]).toMatchObject({ ...context, component: 'gateway', msg: 'inside' });
    expect(lines[1]).not.toHaveProperty('taskId');
    expect(lines[1]).not.toHaveProperty('traceId');
  });

  it('carries a logger\'s own fields once, beside the call\'s', () => {
    const { log, lines } = capture();
    withLogFields(withLogFields(log, { tenantId: 'acme' }), { taskId: 'task_2' }).info({ tenantId: 'acme', n: 1 }, 'request');
    expect(lines[0]).toMatchObject({ tenantId: 'acme', taskId: 'task_2', n: 1 });
  });

  it('adds trace and span ids only when a span source has them', () => {
    const { log, lines } = capture();
    log.info('no tracer');
    useSpanIds(() => ({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' }));
    withLogContext({ taskId: 'task_3' }, () => log.info('traced'));
    expect(lines[0]).not.toHaveProperty('traceId');
    expect(lines[1]).toMatchObject({ taskId: 'task_3', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
  });

  it('names the task, run and activity of the SDK\'s own lines', () => {
    rememberTaskTenant('task_4', 'acme');
    expect(sdkLogFields({ workflowId: 'task_4.plan_1', runId: 'r', workflowType: 'runAgent' })).toEqual({ taskId: 'task_4', runId: 'r', tenantId: 'acme' });
    expect(sdkLogFields({ workflowId: 'compensate.task_5.apr_1', workflowRunId: 'r2', activityType: 'executeAction' })).toEqual({ taskId: 'task_5', runId: 'r2', activity: 'executeAction' });
    expect(sdkLogFields({ message: 'poller started' })).toEqual({});
    // A traced workflow's line (the OpenTelemetry interceptor's snake-case ids) in Gatehouse's names.
    expect(sdkLogFields({ workflowId: 'task_6', runId: 'r3', trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), trace_flags: '01' })).toEqual({ taskId: 'task_6', runId: 'r3', traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) });
  });
});
