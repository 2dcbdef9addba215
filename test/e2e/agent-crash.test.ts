// A worker killed (SIGKILL) while an approved write action is running: the action's
// transaction dies with it, another worker retries it after the heartbeat timeout, and the
// ledger ends with exactly one execution — nothing lost, nothing doubled.
import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Services } from '../../infra/services.js';
import { agentStatusQuery } from '../../workflows/messages.js';
import { ADMIN, agentInput, decide, startAgent, waitForPending, waitForStatus } from '../support/agents.js';
import { TEST_DATA_CONVERTER, testServices, uniqueId } from '../support/harness.js';
import { startWorkerProcess } from '../support/spawn-worker.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

describe('agent crash recovery', () => {
  let services: Services;
  let client: Client;
  let model: ScriptedModelServer;
  const tenant = uniqueId('t');
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    services = await testServices('pglite');
    await services.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [tenant]);
    await services.db.query('CREATE TABLE IF NOT EXISTS crash_notes (key text NOT NULL, text text NOT NULL)');
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }), dataConverter: TEST_DATA_CONVERTER });
    model = await startScriptedModelServer({ models: ['scripted'] });
    // The model proposes one note, then finishes once it sees the outcome.
    model.onChat((req) => {
      const done = req.messages.some((m) => m.role === 'tool');
      return done ? { content: 'The note is written.' } : { content: 'Writing the note.', toolCalls: [{ id: 'call_1', name: 'slow_note', arguments: { text: 'exactly once' } }] };
    });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await client?.connection.close();
    await model?.close();
    await services?.close();
  });

  it('executes an approved action exactly once when its worker is killed mid-write', async () => {
    const taskQueue = uniqueId('agent-crash');
    const env = { SLOW_WRITE_MS: '6000', MODEL_BASE_URL: model.baseUrl };
    const first = await startWorkerProcess(taskQueue, env);
    children.push(first);

    const handle = await startAgent(client, taskQueue, agentInput(tenant, 'Write a note', { tools: ['slow_note'] }));
    const [approval] = await waitForPending(handle, 1);
    const decision = decide(handle, approval!, { approver: ADMIN(tenant) });
    decision.catch(() => undefined);
    // Kill the worker while the action's transaction is open.
    await waitForStatus(handle, (s) => s.steps.some((st) => st.name === 'execute:slow_note' && st.status === 'running'));
    await new Promise((r) => setTimeout(r, 1000));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect((await services.db.query('SELECT count(*)::int AS n FROM crash_notes WHERE key LIKE $1', [`${handle.workflowId}:%`])).rows[0].n).toBe(0);

    children.push(await startWorkerProcess(taskQueue, { ...env, SLOW_WRITE_MS: '10' }));
    expect(await decision).toMatchObject({ status: 'executed' });
    const result = await handle.result();
    expect(result.answer).toBe('The note is written.');

    const notes = await services.db.query('SELECT key FROM crash_notes WHERE key LIKE $1', [`${handle.workflowId}:%`]);
    expect(notes.rows).toEqual([{ key: `${handle.workflowId}:apr_1` }]);
    const ledger = await services.db.query('SELECT count(*)::int AS n FROM action_ledger WHERE task_id = $1', [handle.workflowId]);
    expect(ledger.rows[0].n).toBe(1);
    // The activity really ran twice: the killed attempt and the retry.
    const history = await handle.fetchHistory();
    const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(Math.max(...attempts.map(Number))).toBeGreaterThanOrEqual(2);
    expect((await handle.query(agentStatusQuery)).approvals[0]!.status).toBe('executed');
  }, 90_000);
});
