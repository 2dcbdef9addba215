// runAgent on a real Temporal dev server and real Postgres (PGlite), with the offline
// rule-based planner as the model: the loop, the approval gate (approve, reject, edit,
// two approvers, thresholds, expiry), the ledger, ask_user, conversations and plan mode.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argumentsHash } from '../../activities/agent/actions.js';
import { quoteIdent, tenantSchema } from '../../infra/db/tenant-schema.js';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import type { Services } from '../../infra/services.js';
import type { runAgent } from '../../workflows/agent/index.js';
import { agentStatusQuery, sendMessageUpdate } from '../../workflows/messages.js';
import { ADMIN, agentInput, decide, startAgent, waitForPending, waitForStatus } from '../support/agents.js';
import { startTestWorker, testServices, uniqueId, type TestWorker } from '../support/harness.js';

describe('runAgent (offline planner)', () => {
  let services: Services;
  let worker: TestWorker;
  const tenant = uniqueId('t');
  const schema = quoteIdent(tenantSchema(tenant));

  beforeAll(async () => {
    services = await testServices('pglite');
    await seedDemoDomain(services.db, tenant);
    worker = await startTestWorker(services);
  });
  afterAll(async () => {
    await worker?.stop();
    await services?.close();
  });

  const start = (input: string, options = {}) => startAgent(worker.client, worker.taskQueue, agentInput(tenant, input, options));
  const count = async (sql: string, params: unknown[] = []) => Number((await services.db.query<{ n: string }>(sql, params)).rows[0]!.n);

  it('proposes a refund and an email, waits, and executes each exactly once when approved', async () => {
    const handle = await start("Refund Emily Doe's last order and email her a confirmation");
    const pending = await waitForPending(handle, 2);
    expect(pending.map((p) => p.tool).sort()).toEqual(['issue_refund', 'send_email']);
    const refund = pending.find((p) => p.tool === 'issue_refund')!;
    const email = pending.find((p) => p.tool === 'send_email')!;
    expect(refund.arguments).toMatchObject({ orderId: 1004, amountUsd: 79 });
    expect(refund.preview.summary).toContain('Refund $79.00 on order 1004 (Emily Doe');
    expect(refund.argumentsHash).toBe(argumentsHash('issue_refund', refund.arguments));
    // The workflow keeps the address masked (the API shows approvers the value).
    expect(email.arguments).toMatchObject({ to: '[EMAIL_ADDRESS_1]' });
    // Per argument, where its value came from: the order and amount from the tenant's own rows.
    const from = Object.fromEntries((refund.provenance as Array<{ argument: string }>).map((p) => [p.argument, p]));
    expect(from.orderId).toMatchObject({ type: 'tool_output', tool: 'query_sql', untrusted: false, excerpt: expect.stringContaining('1004') });
    expect(from.amountUsd).toMatchObject({ type: 'tool_output', tool: 'query_sql', untrusted: false });
    expect(from.reason).toMatchObject({ kind: 'text', authorises: false });
    // Nothing ran before approval.
    expect(await count(`SELECT count(*) AS n FROM ${schema}.refunds`)).toBe(0);
    expect(await count('SELECT count(*) AS n FROM outbox WHERE tenant_id = $1', [tenant])).toBe(0);
    expect((await handle.query(agentStatusQuery)).phase).toBe('awaiting_approval');
    const indexed = await services.db.query('SELECT approval_id, status FROM approvals WHERE task_id = $1 ORDER BY approval_id', [handle.workflowId]);
    expect(indexed.rows.map((r) => r.status)).toEqual(['pending', 'pending']);

    const refunded = await decide(handle, refund, { approver: ADMIN(tenant) });
    expect(refunded).toMatchObject({ status: 'executed', result: { orderId: 1004, amountUsd: '79.00' } });
    const emailed = await decide(handle, email, { approver: ADMIN(tenant) });
    expect(emailed.status).toBe('executed');

    const result = await handle.result();
    expect(result.endReason).toBe('answered');
    expect(result.answer).toMatch(/refund #\d+ of \$79\.00 on order 1004/);
    expect(result.actions.map((a) => a.status)).toEqual(['executed', 'executed']);
    expect(await count(`SELECT count(*) AS n FROM ${schema}.refunds WHERE order_id = 1004`)).toBe(1);
    expect(await count('SELECT count(*) AS n FROM outbox WHERE tenant_id = $1', [tenant])).toBe(1);
    expect(await count('SELECT count(*) AS n FROM action_ledger WHERE task_id = $1', [handle.workflowId])).toBe(2);
    const after = await services.db.query('SELECT status FROM approvals WHERE task_id = $1 ORDER BY approval_id', [handle.workflowId]);
    expect(after.rows.map((r) => r.status)).toEqual(['executed', 'executed']);

    // An operator resets the run to its first workflow task (as in the Temporal UI): the
    // new run proposes the same actions, and the ledger answers with what already happened.
    const firstTask = (await handle.fetchHistory()).events!.find((e) => e.workflowTaskCompletedEventAttributes)!;
    const reset = await worker.client.workflowService.resetWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: handle.workflowId, runId: (await handle.describe()).runId },
      reason: 'operator reset in a test',
      workflowTaskFinishEventId: firstTask.eventId,
      requestId: uniqueId('reset'),
    });
    const rerun = worker.client.workflow.getHandle<typeof runAgent>(handle.workflowId, reset.runId!);
    const replayed = await rerun.result();
    expect(replayed.actions.map((a) => a.status)).toEqual(['executed', 'executed']);
    expect(replayed.answer).toMatch(/refund #\d+ of \$79\.00 on order 1004/);
    expect(await count(`SELECT count(*) AS n FROM ${schema}.refunds WHERE order_id = 1004`)).toBe(1);
    expect(await count('SELECT count(*) AS n FROM outbox WHERE tenant_id = $1', [tenant])).toBe(1);
    expect(await count('SELECT count(*) AS n FROM action_ledger WHERE task_id = $1', [handle.workflowId])).toBe(2);
  });

  it('refuses bad decisions in the validator, without touching history', async () => {
    const handle = await start("Refund John Doe's last order and email him a confirmation");
    const [first] = await waitForPending(handle, 2);
    // Wait until the run is idle at its gate (the approvals index is written by activities).
    let eventsBefore = -1;
    for (let seen = 0; seen !== eventsBefore; await new Promise((r) => setTimeout(r, 300))) {
      seen = eventsBefore;
      eventsBefore = (await handle.fetchHistory()).events!.length;
    }
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      return (err as WorkflowUpdateFailedError).cause as { type?: string };
    };
    expect(await refusal(decide(handle, first!, { argumentsHash: '0'.repeat(64), approver: ADMIN(tenant) }))).toMatchObject({ type: 'ArgumentsHashMismatch' });
    expect(await refusal(decide(handle, { ...first!, approvalId: 'apr_999' }, { approver: ADMIN(tenant) }))).toMatchObject({ type: 'ApprovalNotFound' });
    expect(await refusal(decide(handle, first!, { approver: { keyId: 'reader', tenantId: tenant, roles: ['tasks:read'] } }))).toMatchObject({ type: 'ApprovalForbidden' });
    expect(await refusal(decide(handle, first!, { approver: { keyId: 'x', tenantId: 'other-tenant', roles: ['admin'] } }))).toMatchObject({ type: 'ApprovalForbidden' });
    const history = (await handle.fetchHistory()).events!;
    expect(history.length).toBe(eventsBefore);

    // A rejection is fed back: the model's answer says so, and nothing is executed.
    const pending = await waitForPending(handle, 2);
    for (const [i, p] of pending.entries()) {
      const outcome = await decide(handle, p, { decision: 'reject', reason: 'customer already refunded by phone', approver: { keyId: 'approver-1', tenantId: tenant, roles: ['approvals:write'] } });
      expect(outcome.status).toBe('rejected');
      // Decided once is decided (checked while the other approval keeps the run open).
      if (i === 0) expect(await refusal(decide(handle, p, { approver: ADMIN(tenant) }))).toMatchObject({ type: 'ApprovalAlreadyDecided' });
    }
    const result = await handle.result();
    expect(result.answer).toContain('rejected by the approver: customer already refunded by phone');
    expect(await count('SELECT count(*) AS n FROM action_ledger WHERE task_id = $1', [handle.workflowId])).toBe(0);
  });

  it('approves edited arguments only after showing them again, stripped to the tool schema', async () => {
    const handle = await start("Refund Marcus Lee's last order");
    const [refund] = await waitForPending(handle, 1);
    // Keys the tool does not declare are dropped: not shown, not hashed, not executed, not recorded.
    const edits = { ...refund!.arguments, amountUsd: 20, notifyCustomer: true, approvedBy: 'someone else' };
    const edited = await decide(handle, refund!, { arguments: edits, approver: ADMIN(tenant) });
    expect(edited).toMatchObject({ status: 'superseded', newApprovalId: 'apr_2' });
    const [shown] = await waitForPending(handle, 1);
    expect(shown).toMatchObject({ approvalId: 'apr_2', arguments: { amountUsd: 20 } });
    expect(Object.keys(shown!.arguments).sort()).toEqual(['amountUsd', 'orderId', 'reason']);
    expect(shown!.argumentsHash).toBe(argumentsHash('issue_refund', shown!.arguments));
    expect(shown!.preview.summary).toContain('Refund $20.00');

    // Edited arguments that fail the schema are refused, and the approval stays pending.
    const bad = await decide(handle, shown!, { arguments: { ...shown!.arguments, amountUsd: -5 }, approver: ADMIN(tenant) });
    expect(bad.status).toBe('pending');
    expect(bad.error).toMatch(/amountUsd/);

    expect((await decide(handle, shown!, { approver: ADMIN(tenant) })).status).toBe('executed');
    await handle.result();
    const { rows } = await services.db.query(`SELECT amount_usd::text FROM ${schema}.refunds WHERE idempotency_key = $1`, [`${handle.workflowId}:apr_2`]);
    expect(rows).toEqual([{ amount_usd: '20.00' }]);
    const ledger = await services.db.query('SELECT arguments FROM action_ledger WHERE task_id = $1 AND approval_id = $2', [handle.workflowId, 'apr_2']);
    expect(ledger.rows[0].arguments).toEqual(shown!.arguments);
  });

  it('applies tenant policies: thresholds approve small refunds, two approvers for the rest', async () => {
    const policyTenant = uniqueId('t');
    await seedDemoDomain(services.db, policyTenant);
    await services.db.query(
      `INSERT INTO approval_policies (tenant_id, tool, mode, threshold_field, threshold, approvals_needed) VALUES ($1, 'issue_refund', 'threshold', 'amountUsd', 50, 2)`,
      [policyTenant],
    );
    // John's last order (1011) is $59: over the threshold, two approvers.
    const big = await startAgent(worker.client, worker.taskQueue, agentInput(policyTenant, "Refund John Doe's last order"));
    const [refund] = await waitForPending(big, 1);
    expect(refund!.approvalsNeeded).toBe(2);
    const first = await decide(big, refund!, { approver: { keyId: 'a1', tenantId: policyTenant, roles: ['approvals:write'] } });
    expect(first.status).toBe('awaiting_second_approval');
    const again = await decide(big, refund!, { approver: { keyId: 'a1', tenantId: policyTenant, roles: ['approvals:write'] } }).catch((e: WorkflowUpdateFailedError) => e);
    expect((again as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'ApprovalAlreadyDecided' });
    const second = await decide(big, refund!, { approver: { keyId: 'a2', tenantId: policyTenant, roles: ['approvals:write'] } });
    expect(second.status).toBe('executed');
    await big.result();
    const ledger = await services.db.query('SELECT approved_by FROM action_ledger WHERE task_id = $1', [big.workflowId]);
    expect(ledger.rows[0].approved_by).toEqual(['a1', 'a2']);

    // Emily's last order (1004) is $79 too; a $30 partial refund is within the threshold.
    await services.db.query(`UPDATE ${quoteIdent(tenantSchema(policyTenant))}.orders SET amount_usd = 30 WHERE id = 1004`);
    const small = await startAgent(worker.client, worker.taskQueue, agentInput(policyTenant, "Refund Emily Doe's last order"));
    const result = await small.result();
    expect(result.actions).toEqual([expect.objectContaining({ tool: 'issue_refund', status: 'executed' })]);
    const auto = await services.db.query('SELECT approved_by FROM action_ledger WHERE task_id = $1', [small.workflowId]);
    expect(auto.rows[0].approved_by[0]).toMatch(/^policy: tenant policy: amountUsd 30 is within 50/);
  });

  it('rejects an action whose approval expires, and says so', async () => {
    const handle = await start("Refund Priya Raman's last order", { approvalTimeoutSeconds: 2 });
    await waitForPending(handle, 1);
    const result = await handle.result();
    expect(result.actions[0]).toMatchObject({ status: 'expired' });
    expect(result.answer).toContain('the approval for issue_refund expired');
  });

  it('stops at its deadline, waiting included, and says so', async () => {
    // Long enough to reach the approval on a busy 2-core machine (the decide and the query take seconds there).
    const handle = await start("Refund Northwind Studio's last order", { deadlineAt: new Date(Date.now() + 10_000).toISOString() });
    await waitForPending(handle, 1);
    const result = await handle.result();
    expect(result.endReason).toBe('deadline');
    expect(result.actions[0]).toMatchObject({ status: 'expired' });
    expect((await handle.query(agentStatusQuery)).approvals[0]!.reason).toBe('the task reached its deadline');
  });

  it('asks the user when it cannot tell who the task is about, and goes on with the reply', async () => {
    const handle = await start('Refund my last order and email me a confirmation');
    const asking = await waitForStatus(handle, (s) => s.phase === 'awaiting_input');
    expect(asking.question).toContain('Which customer');
    await handle.executeUpdate(sendMessageUpdate, { args: [{ text: 'I am Sofia Rossi' }] });
    const pending = await waitForPending(handle, 2);
    expect(pending.find((p) => p.tool === 'send_email')!.arguments.to).toBe('[EMAIL_ADDRESS_1]');
    expect(pending.find((p) => p.tool === 'send_email')!.preview.summary).not.toContain('sofia.rossi@example.com');
    // The index is written by an activity after the proposal shows in the status: wait for both rows.
    let indexed = await services.db.query('SELECT status, reason FROM approvals WHERE task_id = $1', [handle.workflowId]);
    for (let i = 0; i < 100 && indexed.rows.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      indexed = await services.db.query('SELECT status, reason FROM approvals WHERE task_id = $1', [handle.workflowId]);
    }
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    // A canceled task leaves no approval open in the index.
    const closed = await services.db.query('SELECT status, reason FROM approvals WHERE task_id = $1', [handle.workflowId]);
    expect(indexed.rows.length).toBe(2);
    expect(closed.rows.every((r) => r.status === 'rejected' && r.reason === 'task canceled')).toBe(true);
  });

  it('keeps a conversation: a follow-up is rewritten against it, and long ones continue as new', async () => {
    const handle = await start('When did John Doe last buy something?', { keepOpenSeconds: 60, historyLimit: 40 });
    const first = await waitForStatus(handle, (s) => s.answers.length >= 1);
    expect(first.answers[0]).toContain('2026-11-02');
    await handle.executeUpdate(sendMessageUpdate, { args: [{ text: 'How about Emily Doe?' }] });
    const second = await waitForStatus(handle, (s) => s.answers.length >= 2);
    expect(second.answers[1]).toContain('2026-09-27');
    expect(second.answers[1]).not.toContain('John');
    // The history limit forced at least one continue-as-new; the conversation survived it.
    const { executions } = await worker.client.workflowService.listWorkflowExecutions({ namespace: 'default', query: `WorkflowId = '${handle.workflowId}'` });
    expect(executions!.length).toBeGreaterThan(1);
    await handle.executeUpdate(sendMessageUpdate, { args: [{ text: 'What about Priya Raman?' }] });
    const third = await waitForStatus(handle, (s) => s.answers.length >= 3);
    expect(third.answers[2]).toContain('2026-05-03');
    await handle.cancel();
  });

  it('plans sub-tasks and runs them as child workflows in parallel', async () => {
    const handle = await start("Find John Doe's last order and find Emily Doe's last order", { mode: 'plan' });
    const result = await handle.result();
    const status = await handle.query(agentStatusQuery);
    expect(status.plan.map((p) => p.status)).toEqual(['completed', 'completed']);
    expect(result.answer).toContain('1011');
    expect(result.answer).toContain('1004');
    const children = await worker.client.workflowService.listWorkflowExecutions({ namespace: 'default', query: `WorkflowId STARTS_WITH '${handle.workflowId}.'` });
    expect(children.executions!.length).toBe(2);
    // Independent children overlap in time: each started before the other closed (run one after
    // the other, the second would start only once the first had closed).
    const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t!.seconds) * 1000 + (t!.nanos ?? 0) / 1e6;
    const [a, b] = children.executions!.map((e) => ({ start: ms(e.startTime), close: ms(e.closeTime) }));
    expect(a!.start).toBeLessThan(b!.close);
    expect(b!.start).toBeLessThan(a!.close);
  });
});
