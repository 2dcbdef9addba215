// What-if forks through the HTTP API: an answer forked at its generate step with another model,
// an agent forked after an approved refund (never refunded twice; a new write waits for its
// approval), the fork's diff, the refusals (a bad atStep, another tenant's task), and a retried
// fork with an Idempotency-Key (one fork).
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createUser } from '../../api/auth.js';
import { quoteIdent, tenantSchema } from '../../infra/db/tenant-schema.js';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { TEST_PAYLOAD_KEYS, uniqueId } from '../support/harness-config.js';

describe('what-if forks', () => {
  let api: TestApi;
  let approver = '';
  /** The answer fork, replayed by the CLI below. */
  let answerFork = '';

  beforeAll(async () => {
    api = await startTestApi();
    await seedDemoDomain(api.services.db, api.tenant);
    // Approvals are decided by people: a key bound to one.
    const bo = await createUser(api.services.db, { tenantId: api.tenant, name: 'Bo (approver)', roles: ['approvals:write', 'tasks:read'] });
    approver = (await createApiKey(api.services.db, { tenantId: api.tenant, roles: ['approvals:write', 'tasks:read'], userId: bo.id })).key;
  });
  afterAll(async () => {
    await api?.close();
  });

  const admin = () => api.keys.admin;
  async function waitFor(taskId: string, done: (task: { status: string; agent?: { pendingApprovals: Array<{ approvalId: string; tool: string; argumentsHash: string }> } }) => boolean) {
    for (let i = 0; i < 200; i++) {
      const task = await api.call('GET', `/v1/tasks/${taskId}`, { key: admin() });
      if (done(task.json)) return task.json;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`task ${taskId} did not get there`);
  }
  const finished = (taskId: string) => api.call('GET', `/v1/tasks/${taskId}/result?wait=30`, { key: admin() });

  it('forks an answer at its generate step with another model: a new answer, the original unchanged, the diff shows it', async () => {
    const ingest = await api.call('POST', '/v1/documents', {
      key: admin(),
      body: { collection: 'manuals', documents: [{ id: 'jams', title: 'Paper jams', text: '# Paper jams\n\nTo clear an E-102 jam, open the rear access door and lower the two green fuser release levers.' }] },
    });
    for (let i = 0; i < 200 && (await api.call('GET', `/v1/ingestions/${ingest.json.ingestionId}`, { key: admin() })).json.status === 'running'; i++) await new Promise((r) => setTimeout(r, 150));

    api.model.enqueue({ content: 'Open the rear access door [1].', usage: { promptTokens: 100, completionTokens: 8 } });
    const started = await api.call('POST', '/v1/tasks', { key: admin(), body: { type: 'answer', input: 'How do I clear an E-102 jam?', collection: 'manuals' } });
    const taskId = started.json.taskId as string;
    const original = await finished(taskId);
    expect(original.json.result).toMatchObject({ answer: 'Open the rear access door [1].', model: 'primary' });
    const steps = original.json.result.steps.map((s: { name: string }) => s.name) as string[];
    const atStep = steps.indexOf('generate');
    expect(atStep).toBeGreaterThan(2);
    const chatCalls = api.model.requests.filter((r) => r.kind === 'chat').length;

    // The offline model writes the live part; everything before generate comes from the record.
    const fork = await api.call('POST', `/v1/tasks/${taskId}/fork`, { key: admin(), body: { atStep, changes: { model: 'local' } } });
    expect(fork).toMatchObject({ status: 202, json: { of: taskId, atStep, status: 'running' } });
    const forked = await finished(fork.json.taskId);
    answerFork = fork.json.taskId;
    expect(forked.json.status).toBe('completed');
    expect(forked.json.result.model).toBe('local');
    expect(forked.json.result.answer).not.toBe('Open the rear access door [1].');
    expect(forked.json.result.answer).toMatch(/rear access door/);
    expect(forked.json.result.steps.map((s: { name: string }) => s.name)).toEqual(steps);
    // The seeded steps are the original's, the scripted model was asked nothing more.
    const recorded = (s: Record<string, unknown>) => ({ name: s.name, status: s.status, model: s.model, usage: s.usage, detail: s.detail });
    expect(forked.json.result.steps.slice(0, atStep).map(recorded)).toEqual(original.json.result.steps.slice(0, atStep).map(recorded));
    expect(api.model.requests.filter((r) => r.kind === 'chat').length).toBe(chatCalls);
    const history = await api.worker.client.workflow.getHandle(fork.json.taskId).fetchHistory();
    const markers = history.events!.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').map((e) => JSON.parse(Buffer.from(e.markerRecordedEventAttributes!.details!.data!.payloads![0]!.data!).toString()).activity_type as string);
    expect(markers).toContain('replayRecordedCall');
    expect(markers).not.toContain('retrieve');

    // The original is untouched.
    expect((await finished(taskId)).json.result).toEqual(original.json.result);

    const spec = await api.call('GET', '/openapi.json');
    expect(Object.keys(spec.json.paths)).toEqual(expect.arrayContaining(['/v1/tasks/{taskId}/fork', '/v1/tasks/{taskId}/forks', '/v1/tasks/{taskId}/forks/{forkId}/diff', '/v1/tasks/{taskId}/history']));

    const listed = await api.call('GET', `/v1/tasks/${taskId}/forks`, { key: admin() });
    expect(listed.json.forks).toEqual([expect.objectContaining({ forkId: fork.json.forkId, taskId: fork.json.taskId, of: taskId, atStep, changes: { model: 'local' } })]);
    const diff = await api.call('GET', `/v1/tasks/${taskId}/forks/${fork.json.forkId}/diff`, { key: admin() });
    expect(diff.status).toBe(200);
    expect(diff.json).toMatchObject({ atStep, original: { answer: 'Open the rear access door [1].', model: 'primary' }, fork: { model: 'local' }, answer: { same: false } });
    expect(diff.json.steps.filter((s: { seeded: boolean; differs: boolean }) => s.seeded && s.differs)).toEqual([]);
    expect(diff.json.steps[atStep]).toMatchObject({ seeded: false, differs: true, original: { name: 'generate', model: 'primary' }, fork: { name: 'generate', model: 'local' } });
    const { original: o, fork: f, delta } = diff.json.usage;
    expect(o).toMatchObject({ inputTokens: 100, outputTokens: 8 });
    expect(f).toEqual(forked.json.result.usage);
    expect(delta).toEqual({ inputTokens: f.inputTokens - 100, outputTokens: f.outputTokens - 8, costUsd: expect.closeTo(f.costUsd - o.costUsd, 8) });

    // Refusals: a step the original does not have, a new input past the first step, another tenant.
    const bad = await api.call('POST', `/v1/tasks/${taskId}/fork`, { key: admin(), body: { atStep: steps.length, changes: {} } });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: 'invalid_request' } } });
    expect(bad.json.error.message).toMatch(/^atStep: /);
    expect((await api.call('POST', `/v1/tasks/${taskId}/fork`, { key: admin(), body: { atStep: -1 } })).json.error.message).toMatch(/^body\.atStep: /);
    expect((await api.call('POST', `/v1/tasks/${taskId}/fork`, { key: admin(), body: { atStep: 2, changes: { input: 'Other?' } } })).json.error.message).toMatch(/^changes\.input: /);
    expect(await api.call('POST', `/v1/tasks/${taskId}/fork`, { key: api.keys.other, body: { atStep } })).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
    expect(await api.call('POST', `/v1/tasks/${fork.json.taskId}/fork`, { key: admin(), body: { atStep } })).toMatchObject({ status: 409, json: { error: { code: 'fork_of_fork' } } });
    expect((await api.call('GET', `/v1/tasks/${taskId}/forks`, { key: api.keys.other })).status).toBe(404);
    expect((await api.call('GET', `/v1/tasks/${taskId}/forks/${fork.json.forkId}/diff`, { key: api.keys.other })).status).toBe(404);

    // With an Idempotency-Key a retried fork is the same fork, started once; the key for another fork is refused.
    const keyed = { key: admin(), headers: { 'idempotency-key': uniqueId('fork-retry') }, body: { atStep, changes: { model: 'local' } } };
    const [first, retried] = [await api.call('POST', `/v1/tasks/${taskId}/fork`, keyed), await api.call('POST', `/v1/tasks/${taskId}/fork`, keyed)];
    expect(first.status).toBe(202);
    expect(retried).toMatchObject({ status: 202, json: { forkId: first.json.forkId, taskId: first.json.taskId } });
    expect(await api.call('POST', `/v1/tasks/${taskId}/fork`, { ...keyed, body: { atStep, changes: {} } })).toMatchObject({ status: 422, json: { error: { code: 'idempotency_key_reused' } } });
    expect((await finished(first.json.taskId)).json.status).toBe('completed');
    const forks = (await api.call('GET', `/v1/tasks/${taskId}/forks`, { key: admin() })).json.forks as Array<{ forkId: string }>;
    expect(forks.map((f) => f.forkId).sort()).toEqual([fork.json.forkId, first.json.forkId].sort());
  }, 60_000);

  it("gives a fork its original's masked values: the fork's placeholders restore for pii:read", async () => {
    api.model.enqueue({ content: 'Open the rear access door [1].' });
    const started = await api.call('POST', '/v1/tasks', { key: admin(), body: { type: 'answer', input: 'I am jo.tester@example.com: how do I clear an E-102 jam?', collection: 'manuals' } });
    const original = await finished(started.json.taskId);
    // Stored masked, shown restored to an admin (pii:read).
    expect(original.json.result.question.original).toContain('jo.tester@example.com');
    const masked = (await api.worker.client.workflow.getHandle(started.json.taskId).result()) as { question: { original: string } };
    expect(masked.question.original).toMatch(/\[EMAIL_ADDRESS_\d+\]/);
    const atStep = original.json.result.steps.findIndex((s: { name: string }) => s.name === 'generate');
    const fork = await api.call('POST', `/v1/tasks/${started.json.taskId}/fork`, { key: admin(), body: { atStep, changes: { model: 'local' } } });
    const forked = await finished(fork.json.taskId);
    expect(forked.json.result.model).toBe('local');
    expect(forked.json.result.question.original).toBe(original.json.result.question.original);
  }, 30_000);

  it('forks an agent after an approved refund: the refund is never made again, a new write waits for approval', async () => {
    const refund = { orderId: 1008, amountUsd: 42.5, reason: 'damaged on arrival' };
    const email = { to: 'emily.doe@example.com', subject: 'Your refund', body: 'We refunded order 1008.' };
    // Original: refund, then answer. The fork's live part (from the second decision on): an email, then answer.
    api.model.enqueue({ content: 'Refunding.', toolCalls: [{ id: 'c1', name: 'issue_refund', arguments: refund }] });
    api.model.enqueue({ content: 'Refunded order 1008.' });
    const started = await api.call('POST', '/v1/tasks', { key: admin(), body: { type: 'agent', input: 'Refund order 1008, it arrived damaged', options: { tools: ['issue_refund', 'send_email'] } } });
    const taskId = started.json.taskId as string;
    const pending = await waitFor(taskId, (t) => t.status === 'awaiting_approval');
    const apr = pending.agent!.pendingApprovals[0]!;
    expect(apr.tool).toBe('issue_refund');
    expect((await api.call('POST', `/v1/tasks/${taskId}/approvals/${apr.approvalId}`, { key: approver, body: { decision: 'approve', argumentsHash: apr.argumentsHash } })).json.status).toBe('executed');
    const original = await finished(taskId);
    expect(original.json.result).toMatchObject({ answer: 'Refunded order 1008.', endReason: 'answered' });
    const steps = original.json.result.steps.map((s: { name: string }) => s.name) as string[];
    const atStep = steps.lastIndexOf('decide');
    expect(steps.indexOf('execute:issue_refund')).toBeLessThan(atStep);
    const schema = quoteIdent(tenantSchema(api.tenant));
    const refunds = async () => (await api.services.db.query(`SELECT count(*)::int AS n FROM ${schema}.refunds WHERE order_id = 1008`)).rows[0].n as number;
    expect(await refunds()).toBe(1);

    api.model.enqueue({ content: 'Emailing.', toolCalls: [{ id: 'c2', name: 'send_email', arguments: email }] });
    api.model.enqueue({ content: 'Refunded and emailed.' });
    // The live part runs with a pinned version of the agent's prompt: an unknown one is refused.
    const unknownPin = await api.call('POST', `/v1/tasks/${taskId}/fork`, { key: admin(), body: { atStep, changes: { prompt: { 'agent.system': 2 } } } });
    expect(unknownPin.status).toBe(400);
    expect(unknownPin.json.error.message).toContain('body.changes.prompt.agent.system');
    const agentPrompt = await api.call('POST', '/v1/prompts/agent.system/versions', { key: admin(), body: { template: "You are Gatehouse's agent (version two). Propose each write once, with exact arguments." } });
    expect(agentPrompt.json.version).toBe(2);
    const fork = await api.call('POST', `/v1/tasks/${taskId}/fork`, { key: admin(), body: { atStep, changes: { prompt: { 'agent.system': 2 } } } });
    expect(fork.status).toBe(202);
    const forkId = fork.json.taskId as string;
    const waiting = await waitFor(forkId, (t) => t.status === 'awaiting_approval');
    // The refund came back from the ledger; only the new email waits.
    expect(waiting.agent!.pendingApprovals.map((a: { tool: string }) => a.tool)).toEqual(['send_email']);
    expect(await refunds()).toBe(1);
    const forkLedger = await api.services.db.query('SELECT tool FROM action_ledger WHERE task_id = $1', [forkId]);
    expect(forkLedger.rows).toEqual([]);
    const mail = waiting.agent!.pendingApprovals[0]!;
    expect((await api.call('POST', `/v1/tasks/${forkId}/approvals/${mail.approvalId}`, { key: approver, body: { decision: 'approve', argumentsHash: mail.argumentsHash } })).json.status).toBe('executed');
    const forked = await finished(forkId);
    expect(forked.json.result).toMatchObject({ answer: 'Refunded and emailed.', endReason: 'answered' });
    // The live turns used the pinned version; the seeded ones are the original's record.
    const liveDecide = (forked.json.result.steps as Array<{ name: string; detail?: { prompt?: unknown } }>).slice(atStep).filter((st) => st.name === 'decide');
    expect(liveDecide.map((st) => st.detail?.prompt)).toEqual(liveDecide.map(() => ({ name: 'agent.system', version: 2 })));
    expect(forked.json.result.actions).toEqual([
      expect.objectContaining({ tool: 'issue_refund', status: 'executed' }),
      expect.objectContaining({ tool: 'send_email', status: 'executed' }),
    ]);
    expect(await refunds()).toBe(1);
    expect((await api.services.db.query('SELECT tool FROM action_ledger WHERE task_id = $1', [forkId])).rows).toEqual([{ tool: 'send_email' }]);
    expect((await api.services.db.query('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1', [api.tenant])).rows[0].n).toBe(1);
    // The original is untouched.
    expect((await finished(taskId)).json.result).toEqual(original.json.result);

    const diff = await api.call('GET', `/v1/tasks/${taskId}/forks/${fork.json.forkId}/diff`, { key: admin() });
    expect(diff.json).toMatchObject({ original: { answer: 'Refunded order 1008.' }, fork: { answer: 'Refunded and emailed.' }, answer: { same: false } });
    expect(diff.json.steps[steps.indexOf('execute:issue_refund')]).toMatchObject({ seeded: true, differs: true });
    expect(diff.json.steps[atStep]).toMatchObject({ seeded: false, original: { name: 'decide' }, fork: { name: 'decide' } });
    // An agent has no retrieval options to change.
    expect((await api.call('POST', `/v1/tasks/${taskId}/fork`, { key: admin(), body: { atStep: 0, changes: { retrieval: { topK: 3 } } } })).json.error.message).toMatch(/^changes\.retrieval: /);
  }, 60_000);

  it('replays a task history with `gatehouse replay`: OK on the current code, the non-determinism error for one that does not match', async () => {
    expect(answerFork).not.toBe('');
    const operator = (await createApiKey(api.services.db, { tenantId: uniqueId('platform'), roles: ['operator'] })).key;
    // The history is the operator's only: a tenant's admin may not fetch it.
    expect((await api.call('GET', `/v1/tasks/${answerFork}/history`, { key: admin() })).status).toBe(403);
    const fetched = await api.call('GET', `/v1/tasks/${answerFork}/history`, { key: operator });
    expect(fetched).toMatchObject({ status: 200, json: { taskId: answerFork, runId: expect.any(String) } });
    // Payloads stay as the cluster holds them: ciphertext.
    expect(JSON.stringify(fetched.json.history)).not.toContain('rear access door');

    const env = { ...process.env, GATEHOUSE_URL: api.base, GATEHOUSE_API_KEY: operator, PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS };
    const cli = (...args: string[]) => promisify(execFile)('bin/gatehouse', args, { env });
    // The fork's history (seeded steps and live ones, behind patched('what-if-fork')) replays.
    expect((await cli('replay', answerFork)).stdout).toMatch(new RegExp(`^OK ${answerFork}: \\d+ events replay on the current workflow code`));

    // The same history with its first activity renamed (generate: the steps before it were served
    // from the record): the code schedules generateAnswer, the history says otherwise.
    const history = structuredClone(fetched.json.history) as { events: Array<Record<string, { activityType?: { name: string } }>> };
    const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!;
    expect(scheduled.activityType!.name).toBe('generateAnswer');
    scheduled.activityType!.name = 'guardOutput';
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'replay-')), `${answerFork}.json`);
    await writeFile(file, JSON.stringify(history));
    const failed = await cli('replay', '--file', file).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(new RegExp(`^NON-DETERMINISTIC ${answerFork}: .*Nondeterminism error: Activity type of scheduled event 'guardOutput'`));
  }, 90_000);
});
