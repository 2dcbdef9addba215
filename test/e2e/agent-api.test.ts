// The demo flow through the HTTP API, offline: an agent task proposes a refund and an email,
// an approver lists and decides them, each runs exactly once, events stream over SSE, and an
// operator can compensate the refund.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createUser, upsertApiKey } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import { quoteIdent, tenantSchema } from '../../infra/db/tenant-schema.js';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import type { Services } from '../../infra/services.js';
import { approvalDecisionSignal } from '../../workflows/messages.js';
import { startTestWorker, testConfig, testLog, testServices, uniqueId, type TestWorker } from '../support/harness.js';

describe('agent tasks over HTTP', () => {
  let services: Services;
  let worker: TestWorker;
  let app: Awaited<ReturnType<typeof buildApi>>;
  let base: string;
  const tenant = uniqueId('acme');
  const keys = { admin: '', approver: '', reader: '', other: '' };

  beforeAll(async () => {
    const config = testConfig();
    services = await testServices('pglite', config);
    await seedDemoDomain(services.db, tenant);
    worker = await startTestWorker(services, config);
    app = await buildApi({ db: services.db, keyRing: services.keyRing, temporal: worker.client, config: { ...config, temporal: { ...config.temporal, taskQueue: worker.taskQueue } }, log: testLog });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    keys.admin = `gh_test_${uniqueId('admin')}_0123456789abcdef`;
    // Approvals are decided by people: the admin and the approver keys are bound to one each.
    const ada = await createUser(services.db, { tenantId: tenant, name: 'Ada (admin)', roles: ['admin'] });
    const bo = await createUser(services.db, { tenantId: tenant, name: 'Bo (approver)', roles: ['approvals:write', 'tasks:read'] });
    await upsertApiKey(services.db, { id: uniqueId('k'), key: keys.admin, tenantId: tenant, roles: ['admin'], name: 'admin', userId: ada.id });
    keys.approver = (await createApiKey(services.db, { tenantId: tenant, roles: ['approvals:write', 'tasks:read'], userId: bo.id })).key;
    keys.reader = (await createApiKey(services.db, { tenantId: tenant, roles: ['tasks:read', 'approvals:read'] })).key;
    keys.other = (await createApiKey(services.db, { tenantId: uniqueId('globex'), roles: ['admin'] })).key;
  });
  afterAll(async () => {
    await app?.close();
    await worker?.stop();
    await services?.close();
  });

  async function call(method: string, path: string, key: string, body?: unknown) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  /** Read the SSE stream to its end (the task_finished event). */
  async function collectEvents(taskId: string): Promise<Array<{ id: number; event: string; data: Record<string, unknown> }>> {
    const res = await fetch(`${base}/v1/tasks/${taskId}/events`, { headers: { authorization: `Bearer ${keys.reader}` } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    return text
      .split('\n\n')
      .filter((block) => block.startsWith('id:'))
      .map((block) => {
        const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))!.slice(name.length + 2);
        return { id: Number(field('id')), event: field('event'), data: JSON.parse(field('data')) as Record<string, unknown> };
      });
  }

  it('runs the demo: two pending approvals, each executed exactly once after approval', async () => {
    const started = await call('POST', '/v1/tasks', keys.admin, { type: 'agent', input: "Refund Emily Doe's last order and email her a confirmation" });
    expect(started).toMatchObject({ status: 202, json: { status: 'running' } });
    const taskId = started.json.taskId as string;
    const events = collectEvents(taskId);

    let task;
    for (let i = 0; i < 150; i++) {
      task = await call('GET', `/v1/tasks/${taskId}`, keys.reader);
      if (task.json.status === 'awaiting_approval' && task.json.agent.pendingApprovals.length === 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(task!.json).toMatchObject({ type: 'agent', status: 'awaiting_approval', agent: { phase: 'awaiting_approval' } });
    const listed = await call('GET', '/v1/approvals?status=pending', keys.reader);
    const mine = listed.json.approvals.filter((a: { taskId: string }) => a.taskId === taskId);
    expect(mine.map((a: { tool: string }) => a.tool).sort()).toEqual(['issue_refund', 'send_email']);
    expect((await call('GET', '/v1/approvals', keys.other)).json.approvals).toEqual([]);
    const refund = mine.find((a: { tool: string }) => a.tool === 'issue_refund');
    const email = mine.find((a: { tool: string }) => a.tool === 'send_email');
    // Approvers see the real address the email would go to; a key that may only read tasks sees a placeholder.
    expect(email.arguments.to).toBe('emily.doe@example.com');
    const plainReader = (await createApiKey(services.db, { tenantId: tenant, roles: ['tasks:read'] })).key;
    const plainView = await call('GET', `/v1/tasks/${taskId}`, plainReader);
    expect(JSON.stringify(plainView.json)).not.toContain('emily.doe@example.com');
    expect(plainView.json.agent.pendingApprovals.find((a: { tool: string }) => a.tool === 'send_email').arguments.to).toBe('[EMAIL_ADDRESS_1]');
    // A key with pii:read sees the values, as in answers.
    const piiReader = (await createApiKey(services.db, { tenantId: tenant, roles: ['tasks:read', 'pii:read'] })).key;
    const piiView = await call('GET', `/v1/tasks/${taskId}`, piiReader);
    const piiEmail = piiView.json.agent.pendingApprovals.find((a: { tool: string }) => a.tool === 'send_email');
    expect(piiEmail.arguments.to).toBe('emily.doe@example.com');
    expect(JSON.stringify(piiView.json.agent.pendingApprovals)).not.toMatch(/\[[A-Z_]+_\d+\]/);
    const path = (a: { approvalId: string }) => `/v1/tasks/${taskId}/approvals/${a.approvalId}`;

    // Refusals, each with a clear status.
    expect(await call('POST', path(refund), keys.admin, { decision: 'approve' })).toMatchObject({ status: 400, json: { error: { code: 'invalid_request' } } });
    expect((await call('POST', path(refund), keys.admin, { decision: 'approve' })).json.error.message).toContain('argumentsHash');
    expect(await call('POST', path(refund), keys.admin, { decision: 'approve', argumentsHash: 'a'.repeat(64) })).toMatchObject({ status: 409, json: { error: { code: 'arguments_changed' } } });
    expect(await call('POST', path(refund), keys.reader, { decision: 'approve', argumentsHash: refund.argumentsHash })).toMatchObject({ status: 403 });
    expect(await call('POST', path(refund), keys.other, { decision: 'approve', argumentsHash: refund.argumentsHash })).toMatchObject({ status: 404 });
    expect(await call('POST', `/v1/tasks/${taskId}/approvals/apr_77`, keys.admin, { decision: 'approve', argumentsHash: refund.argumentsHash })).toMatchObject({ status: 404 });

    const approved = await call('POST', path(refund), keys.approver, { decision: 'approve', argumentsHash: refund.argumentsHash });
    expect(approved).toMatchObject({ status: 200, json: { status: 'executed', result: { orderId: 1004, amountUsd: '79.00' } } });
    expect(await call('POST', path(refund), keys.approver, { decision: 'approve', argumentsHash: refund.argumentsHash })).toMatchObject({ status: 409, json: { error: { code: 'already_decided' } } });
    // What the email action returned names its recipient: restored for an approver with pii:read only.
    const cy = await createUser(services.db, { tenantId: tenant, name: 'Cy (approver, pii:read)', roles: ['approvals:write', 'tasks:read', 'pii:read'] });
    const piiApprover = (await createApiKey(services.db, { tenantId: tenant, roles: ['approvals:write', 'tasks:read', 'pii:read'], userId: cy.id })).key;
    expect(await call('POST', path(email), piiApprover, { decision: 'approve', argumentsHash: email.argumentsHash })).toMatchObject({
      status: 200,
      json: { status: 'executed', result: { to: 'emily.doe@example.com' } },
    });

    const done = await call('GET', `/v1/tasks/${taskId}/result?wait=20`, keys.reader);
    expect(done).toMatchObject({ status: 200, json: { status: 'completed', result: { endReason: 'answered' } } });
    const sent = (r: { json: { result: { actions: Array<{ tool: string; result: { to: string } }> } } }) => r.json.result.actions.find((a) => a.tool === 'send_email')!.result.to;
    expect(sent(done)).toBe('[EMAIL_ADDRESS_1]');
    expect(sent(await call('GET', `/v1/tasks/${taskId}/result?wait=20`, piiReader))).toBe('emily.doe@example.com');
    const schema = quoteIdent(tenantSchema(tenant));
    expect((await services.db.query(`SELECT count(*)::int AS n FROM ${schema}.refunds`)).rows[0].n).toBe(1);
    expect((await services.db.query('SELECT to_address FROM outbox WHERE tenant_id = $1', [tenant])).rows).toEqual([{ to_address: 'emily.doe@example.com' }]);
    // A finished task: a late decision is a conflict, a message too.
    expect(await call('POST', path(email), keys.approver, { decision: 'approve', argumentsHash: email.argumentsHash })).toMatchObject({ status: 409 });
    expect(await call('POST', `/v1/tasks/${taskId}/messages`, keys.admin, { text: 'thanks' })).toMatchObject({ status: 409 });

    const stream = await events;
    const kinds = stream.map((e) => e.event);
    expect(kinds.filter((k) => k === 'approval_requested')).toHaveLength(2);
    // The stream's approval events are shown as the approvals are (this reader may read approvals).
    const emailRequested = stream.find((e) => e.event === 'approval_requested' && e.data.tool === 'send_email')!;
    expect(emailRequested.data.preview).toContain('emily.doe@example.com');
    expect(kinds).toContain('final_answer');
    expect(kinds.at(-1)).toBe('task_finished');
    expect(stream.map((e) => e.id)).toEqual([...stream.map((e) => e.id)].sort((a, b) => a - b));

    // An operator undoes the refund, once.
    const undo = await call('POST', `/v1/tasks/${taskId}/actions/${refund.approvalId}/compensate`, keys.admin);
    expect(undo).toMatchObject({ status: 200, json: { replayed: false, result: { reversed: true } } });
    expect((await call('POST', `/v1/tasks/${taskId}/actions/${refund.approvalId}/compensate`, keys.admin)).json.replayed).toBe(true);
    expect((await call('POST', `/v1/tasks/${taskId}/actions/${email.approvalId}/compensate`, keys.admin))).toMatchObject({ status: 400, json: { error: { code: 'not_compensable' } } });
    expect((await services.db.query(`SELECT status FROM ${schema}.refunds`)).rows).toEqual([{ status: 'reversed' }]);
  }, 60_000);

  it('works from the gatehouse CLI: start, list approvals, approve, reject, status', async () => {
    const cli = async (...args: string[]) =>
      (await promisify(execFile)('bin/gatehouse', args, { env: { ...process.env, GATEHOUSE_URL: base, GATEHOUSE_API_KEY: keys.admin } })).stdout;
    const started = await cli('start', "Refund Sofia Rossi's last order and email her a confirmation");
    const taskId = /task (\S+) started/.exec(started)![1]!;
    let listing = '';
    for (let i = 0; i < 100 && (listing.match(/• task_/g) ?? []).length < 2; i++) {
      listing = (await cli('approvals')).split('\n').filter((l) => !l.startsWith('• ') || l.includes(taskId)).join('\n');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(listing).toContain(`${taskId} apr_1  issue_refund: Refund $42.50 on order 1008 (Sofia Rossi`);
    expect(listing).toContain('from:       orderId ← tool_output query_sql, call ');
    expect(await cli('approve', taskId, 'apr_1')).toMatch(/^apr_1: executed \{"refundId":\d+/);
    await expect(cli('reject', taskId, 'apr_2')).rejects.toThrow(/needs --reason/);
    // The Temporal UI's way: the CLI prints a signed decision to paste as the approvalDecision Signal's input.
    const input = JSON.parse(await cli('approval-token', taskId, 'apr_2', '--decision', 'reject', '--reason', 'we will call her instead'));
    expect(input).toMatchObject({ approvalId: 'apr_2', decision: 'reject', reason: 'we will call her instead', token: expect.stringMatching(/^ey/) });
    await worker.client.workflow.getHandle(taskId).signal(approvalDecisionSignal, input);
    await call('GET', `/v1/tasks/${taskId}/result?wait=20`, keys.reader);
    const status = await cli('status', taskId);
    expect(status).toContain(`${taskId}  agent  completed`);
    expect(status).toContain('send_email was rejected by the approver: we will call her instead');
    await expect(cli('approve', taskId, 'apr_2')).rejects.toThrow(/not pending/);
  }, 60_000);

  it('validates agent options and lists tasks awaiting approval', async () => {
    const bad = await call('POST', '/v1/tasks', keys.admin, { type: 'agent', input: 'x', options: { budgets: { maxSteps: 0 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('options.budgets.maxSteps');
    const started = await call('POST', '/v1/tasks', keys.admin, { type: 'agent', input: "Refund John Doe's last order" });
    const taskId = started.json.taskId;
    for (let i = 0; i < 100; i++) {
      const list = await call('GET', '/v1/tasks?status=awaiting_approval', keys.reader);
      if (list.json.tasks.some((t: { taskId: string }) => t.taskId === taskId)) break;
      if (i === 99) throw new Error('task never listed as awaiting approval');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await call('POST', `/v1/tasks/${taskId}/cancel`, keys.admin)).status).toBe(202);
  }, 40_000);
});
