// The approval desk of runAgent, driven with fakes (test/support/agent-rooms.ts): proposals,
// the one wait, the rules a decision must pass, Updates and Signals, exactly-once execution.
import { describe, expect, it } from 'vitest';
import type { ApprovalDecision } from '../../workflows/messages.js';
import { approver, askProposal, deskHarness, OPTIONS, TENANT } from '../support/agent-rooms.js';

const REFUND = { order: '1001', amount: 40 };

/** The refusal's type (the API's error code), or undefined if `fn` did not refuse. */
function refusal(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { type?: string }).type;
  }
}

describe('the approval desk', () => {
  it('registers the decideApproval Update, then the approvalDecision Signal', () => {
    expect(deskHarness().workflow.registered).toEqual(['decideApproval', 'approvalDecision']);
  });

  it('numbers proposals, waits for a person with the work clock stopped, and executes an approved write once', async () => {
    const h = deskHarness();
    const gate = h.desk.gate('issue_refund', REFUND, 'The customer asked for a refund.');
    await h.workflow.settle();

    const [approval] = h.desk.pending();
    expect(approval).toMatchObject({ approvalId: 'apr_1', tool: 'issue_refund', status: 'pending', arguments: REFUND, approvalsNeeded: 1, requiredRole: 'approvals:write' });
    expect(approval!.expiresAt).toBe(new Date(h.workflow.now + OPTIONS.approvalTimeoutSeconds * 1000).toISOString());
    expect(h.calls.propose[0]).toMatchObject({ approvalId: 'apr_1', tenantId: TENANT, taskId: 'task-1', tool: 'issue_refund', arguments: REFUND });
    expect(h.eventTypes()).toEqual(['approval_requested']);
    expect(h.calls.index).toEqual([{ approvalId: 'apr_1', status: 'pending' }]);
    await h.workflow.advance(120_000); // two minutes with an approver: not work
    expect(h.clock.wallSeconds()).toBe(0);

    const outcome = h.decide({ approvalId: 'apr_1', decision: 'approve', approver: approver('ana') });
    await h.workflow.settle();
    await expect(outcome).resolves.toMatchObject({ approvalId: 'apr_1', status: 'executed', result: { refunded: REFUND } });
    await expect(gate).resolves.toEqual({ ok: true, content: { refunded: REFUND } });
    expect(h.calls.execute).toHaveLength(1);
    expect(h.calls.execute[0]).toMatchObject({ approvalId: 'apr_1', argumentsHash: approval!.argumentsHash, approvedBy: ['ana'] });
    expect(h.calls.index.map((i) => i.status)).toEqual(['pending', 'approved', 'executed']);
    expect(h.steps.map((s) => [s.name, s.status])).toEqual([['execute:issue_refund', 'completed']]);

    // The next proposal gets the next number: the ids are the ledger's idempotency keys.
    void h.desk.gate('send_email', { to: 'ana@example.com' }, 'Tell the customer.');
    await h.workflow.settle();
    expect(h.desk.pending().map((a) => a.approvalId)).toEqual(['apr_2']);
  });

  it('refuses a decision that breaks a rule, in the validator, before anything changes', async () => {
    const h = deskHarness();
    void h.desk.gate('issue_refund', REFUND, 'why');
    await h.workflow.settle();
    const hash = h.desk.find('apr_1')!.argumentsHash;
    const d = (over: Partial<ApprovalDecision>): ApprovalDecision => ({ approvalId: 'apr_1', decision: 'approve', argumentsHash: hash, approver: approver('ana'), ...over });

    expect(refusal(() => h.desk.check(d({ approvalId: 'apr_9' })))).toBe('ApprovalNotFound');
    expect(refusal(() => h.desk.check(d({ approver: { ...approver('eve'), tenantId: 'globex' } })))).toBe('ApprovalForbidden');
    expect(refusal(() => h.desk.check(d({ approver: approver('bob', ['tasks:read']) })))).toBe('ApprovalForbidden');
    expect(refusal(() => h.desk.check(d({ argumentsHash: 'what they did not see' })))).toBe('ArgumentsHashMismatch');
    expect(refusal(() => h.desk.check(d({ arguments: [1, 2] as unknown as Record<string, unknown> })))).toBe('InvalidArguments');
    expect(refusal(() => h.desk.check(d({ approver: approver('root', ['admin']) })))).toBeUndefined();
    expect(refusal(() => h.desk.check(d({})))).toBeUndefined();
    // An Update refused by its validator never reaches the handler.
    await expect(h.decide({ approvalId: 'apr_1', decision: 'approve', approver: approver('bob', ['tasks:read']) })).rejects.toMatchObject({ type: 'ApprovalForbidden' });
    expect(h.desk.find('apr_1')).toMatchObject({ status: 'pending', approvedBy: [] });

    void h.decide({ approvalId: 'apr_1', decision: 'reject', reason: 'not this month', approver: approver('ana') });
    await h.workflow.settle();
    expect(refusal(() => h.desk.check(d({})))).toBe('ApprovalAlreadyDecided');
  });

  it('counts people, not keys: a second key of the same person is not a second approver', async () => {
    const h = deskHarness({ answers: { propose: (input) => askProposal(input, 2) } });
    const gate = h.desk.gate('issue_refund', { order: '1001', amount: 900 }, 'why');
    await h.workflow.settle();

    await expect(h.decide({ approvalId: 'apr_1', decision: 'approve', approver: approver('ana', undefined, 'key-1') })).resolves.toEqual({ approvalId: 'apr_1', status: 'awaiting_second_approval' });
    await expect(h.decide({ approvalId: 'apr_1', decision: 'approve', approver: approver('ana', undefined, 'key-2') })).rejects.toMatchObject({ type: 'ApprovalAlreadyDecided' });
    expect(h.calls.execute).toHaveLength(0);

    const second = h.decide({ approvalId: 'apr_1', decision: 'approve', approver: approver('bob') });
    await h.workflow.settle();
    await expect(second).resolves.toMatchObject({ status: 'executed' });
    await expect(gate).resolves.toMatchObject({ ok: true });
    expect(h.calls.execute[0]!.approvedBy).toEqual(['ana', 'bob']);
  });

  it('treats approved edits as a new proposal, shown again, and the wait follows it', async () => {
    const h = deskHarness();
    const gate = h.desk.gate('issue_refund', REFUND, 'why');
    await h.workflow.settle();

    const edited = h.decide({ approvalId: 'apr_1', decision: 'approve', arguments: { order: '1001', amount: 25 }, approver: approver('ana') });
    await h.workflow.settle();
    await expect(edited).resolves.toEqual({ approvalId: 'apr_1', status: 'superseded', newApprovalId: 'apr_2' });
    expect(h.desk.find('apr_1')).toMatchObject({ status: 'superseded', supersededBy: 'apr_2' });
    expect(h.desk.pending()).toEqual([expect.objectContaining({ approvalId: 'apr_2', arguments: { order: '1001', amount: 25 }, rationale: 'why' })]);
    expect(h.calls.execute).toHaveLength(0);

    void h.decide({ approvalId: 'apr_2', decision: 'approve', approver: approver('bob') });
    await h.workflow.settle();
    await expect(gate).resolves.toEqual({ ok: true, content: { refunded: { order: '1001', amount: 25 } } });
    expect(h.calls.execute.map((e) => e.approvalId)).toEqual(['apr_2']);
  });

  it('tells the model a rejection and its reason; nothing runs', async () => {
    const h = deskHarness();
    const gate = h.desk.gate('issue_refund', REFUND, 'why');
    await h.workflow.settle();
    void h.decide({ approvalId: 'apr_1', decision: 'reject', reason: 'over the limit', approver: approver('ana') });
    await h.workflow.settle();
    await expect(gate).resolves.toEqual({ ok: false, error: 'issue_refund was rejected by the approver', rejected: true, reason: 'over the limit' });
    expect(h.calls.execute).toHaveLength(0);
  });

  it('expires an approval nobody decides; with escalation, asks admins once more first', async () => {
    const rejecting = deskHarness();
    const expired = rejecting.desk.gate('issue_refund', REFUND, 'why');
    await rejecting.workflow.advance(OPTIONS.approvalTimeoutSeconds * 1000);
    await expect(expired).resolves.toEqual({ ok: false, error: 'the approval for issue_refund expired without a decision', expired: true });
    expect(rejecting.desk.find('apr_1')).toMatchObject({ status: 'expired', requiredRole: 'approvals:write' });
    expect(rejecting.desk.find('apr_1')!.reason).toBeUndefined();

    const h = deskHarness({ options: { onApprovalExpiry: 'escalate' } });
    const gate = h.desk.gate('issue_refund', REFUND, 'why');
    await h.workflow.advance(OPTIONS.approvalTimeoutSeconds * 1000);
    expect(h.desk.find('apr_1')).toMatchObject({ status: 'pending', escalated: true, requiredRole: 'admin' });
    expect(h.state.events.at(-1)).toMatchObject({ type: 'approval_decided', data: { decision: 'escalate', requiredRole: 'admin' } });
    // Escalated, the approval needs an admin.
    expect(() => h.desk.check({ approvalId: 'apr_1', decision: 'approve', argumentsHash: h.desk.find('apr_1')!.argumentsHash, approver: approver('ana') })).toThrow(/"admin" role/);
    await h.workflow.advance(OPTIONS.approvalTimeoutSeconds * 1000);
    await expect(gate).resolves.toMatchObject({ ok: false, expired: true });
    expect(h.desk.find('apr_1')!.status).toBe('expired');
  });

  it("ends the wait at the task's deadline, and says so", async () => {
    const h = deskHarness({ options: { deadlineAt: new Date(Date.parse('2026-03-02T09:00:00.000Z') + 60_000).toISOString(), onApprovalExpiry: 'escalate' } });
    const gate = h.desk.gate('issue_refund', REFUND, 'why');
    await h.workflow.advance(60_000);
    await expect(gate).resolves.toEqual({ ok: false, error: 'the task reached its deadline before issue_refund was decided', expired: true });
    // No escalation past the deadline.
    expect(h.desk.find('apr_1')).toMatchObject({ status: 'expired', reason: 'the task reached its deadline', requiredRole: 'approvals:write' });
  });

  it('runs an auto-approved action at once, and returns what the ledger recorded for one it already ran', async () => {
    const auto = deskHarness({ answers: { propose: (input) => ({ ...askProposal(input), policy: { mode: 'auto', approvalsNeeded: 1, requiredRole: 'approvals:write', rule: 'refunds under $50' } }) } });
    const ran = auto.desk.gate('issue_refund', REFUND, 'why');
    await auto.workflow.settle();
    await expect(ran).resolves.toMatchObject({ ok: true });
    expect(auto.desk.find('apr_1')).toMatchObject({ status: 'executed', approvedBy: ['policy: refunds under $50'] });
    expect(auto.calls.execute).toHaveLength(1);

    const reset = deskHarness({ answers: { propose: (input) => ({ ...askProposal(input), alreadyExecuted: { result: { refunded: 'earlier' }, executedAt: '2026-03-01T00:00:00.000Z' } }) } });
    await expect(reset.desk.gate('issue_refund', REFUND, 'why')).resolves.toEqual({ ok: true, content: { refunded: 'earlier' }, replayed: true });
    expect(reset.desk.find('apr_1')).toMatchObject({ status: 'executed', approvedBy: ['ledger'] });
    expect(reset.calls.execute).toHaveLength(0);
  });

  it('reports an approved action that cannot run as failed, to the approver and the model', async () => {
    const h = deskHarness({
      answers: {
        execute: () => {
          throw Object.assign(new Error('activity failed'), { cause: { message: 'ledger conflict' } });
        },
      },
    });
    const gate = h.desk.gate('issue_refund', REFUND, 'why');
    await h.workflow.settle();
    const outcome = h.decide({ approvalId: 'apr_1', decision: 'approve', approver: approver('ana') });
    await h.workflow.settle();
    await expect(outcome).resolves.toMatchObject({ status: 'failed', error: 'ledger conflict' });
    await expect(gate).resolves.toEqual({ ok: false, error: 'ledger conflict' });
  });

  describe('a Signal (the Temporal UI)', () => {
    it('decides nothing without a verified token: the refusal is recorded and the approval stays pending', async () => {
      const h = deskHarness();
      h.workflow.patches.add('approval-signal-needs-token');
      void h.desk.gate('issue_refund', REFUND, 'why');
      await h.workflow.settle();
      await h.workflow.signal('approvalDecision', { approvalId: 'apr_1', decision: 'approve', argumentsHash: 'x', token: 'forged' });
      expect(h.calls.verify).toHaveLength(1);
      expect(h.desk.find('apr_1')!.status).toBe('pending');
      expect(h.eventTypes().at(-1)).toBe('approval_signal_refused');
      expect(h.steps.at(-1)).toMatchObject({ name: 'approval_signal', status: 'failed', error: 'no approval token' });
      expect(h.workflow.warnings).toEqual(['approval signal refused']);
    });

    it('decides through the same rules once its token verifies', async () => {
      const verified = (signal: unknown) => ({ ok: true as const, decision: { ...(signal as Omit<ApprovalDecision, 'approver'>), approver: approver('ana') } });
      const h = deskHarness({ answers: { verify: verified } });
      h.workflow.patches.add('approval-signal-needs-token');
      const gate = h.desk.gate('issue_refund', REFUND, 'why');
      await h.workflow.settle();
      // A verified token for arguments that changed since is still refused by the rules.
      await h.workflow.signal('approvalDecision', { approvalId: 'apr_1', decision: 'reject', argumentsHash: 'stale', token: 't' });
      expect(h.desk.find('apr_1')!.status).toBe('pending');
      await h.workflow.signal('approvalDecision', { approvalId: 'apr_1', decision: 'reject', argumentsHash: h.desk.find('apr_1')!.argumentsHash, reason: 'no', token: 't' });
      await h.workflow.settle();
      await expect(gate).resolves.toMatchObject({ ok: false, rejected: true, reason: 'no' });
    });

    it("trusts a run recorded before tokens the way it was: the UI's operator as this tenant's admin", async () => {
      const h = deskHarness();
      void h.desk.gate('issue_refund', REFUND, 'why');
      await h.workflow.settle();
      await h.workflow.signal('approvalDecision', { approvalId: 'apr_1', decision: 'reject', argumentsHash: h.desk.find('apr_1')!.argumentsHash });
      expect(h.calls.verify).toHaveLength(0);
      expect(h.desk.find('apr_1')).toMatchObject({ status: 'rejected', reason: 'rejected without a reason' });
      expect(h.state.events.at(-1)).toMatchObject({ data: { decision: 'reject', by: 'temporal-ui' } });
    });
  });

  it('is one wait for budget extensions too: the rules say whether an expiry escalates', async () => {
    const h = deskHarness({ options: { onApprovalExpiry: 'escalate' } });
    const proposed = await h.desk.propose('extend_budget', { reason: 'step_budget' }, 'The task reached its step budget.');
    expect(proposed.ok).toBe(true);
    const waited = h.desk.awaitDecision(h.desk.find('apr_1')!, { escalate: false, explainDeadline: false });
    await h.workflow.advance(OPTIONS.approvalTimeoutSeconds * 1000);
    await expect(waited).resolves.toEqual({ decided: false, atDeadline: false });
    expect(h.desk.find('apr_1')).toMatchObject({ status: 'expired', requiredRole: 'approvals:write' });
    expect(h.desk.find('apr_1')!.escalated).toBeUndefined();
  });

  it('withdraws every pending approval when the task is canceled', async () => {
    const h = deskHarness();
    void h.desk.gate('issue_refund', REFUND, 'why');
    void h.desk.gate('send_email', { to: 'ana@example.com' }, 'why');
    await h.workflow.settle();
    await h.desk.withdrawPending('task canceled');
    expect(h.desk.pending()).toEqual([]);
    expect(h.state.approvals.map((a) => [a.approvalId, a.status, a.reason])).toEqual([
      ['apr_1', 'rejected', 'task canceled'],
      ['apr_2', 'rejected', 'task canceled'],
    ]);
    expect(h.calls.index.slice(-2)).toEqual([
      { approvalId: 'apr_1', status: 'rejected' },
      { approvalId: 'apr_2', status: 'rejected' },
    ]);
  });
});
