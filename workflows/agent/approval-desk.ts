// The approval desk. Every write the agent wants to make, and every budget extension, is a
// proposal here (apr_1, apr_2, … — the numbers are the ledger's idempotency keys, so a reset
// run proposes the same ids again). People decide through the decideApproval Update or the
// approvalDecision Signal; the task waits in one place, awaitDecision, for either kind; an
// approved write then runs exactly once through the action ledger.
import { isCancellation } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import {
  approvalDecisionSignal,
  approverIdentity,
  decideApprovalUpdate,
  type AgentEventType,
  type AgentOptions,
  type ApprovalDecision,
  type ApprovalOutcome,
  type ApprovalSignal,
  type Approver,
  type PendingApproval,
} from '../messages.js';
import { summaries, withSummary, type RunDetails } from '../policy/summaries.js';
import { checkDecision } from './approval-rules.js';
import type { AnnouncedSteps, EventStream } from './events.js';
import type { PhaseTracker } from './phase.js';
import { pendingApprovals, type AgentState, type TaskContext } from './state.js';
import type { WorkClock } from './work-clock.js';
import type { WorkflowCalls } from './workflow-calls.js';

/** What a tool call gives back to the model. */
export type ToolResult = { ok: true; content: unknown; replayed?: boolean } | { ok: false; error: string; rejected?: boolean; expired?: boolean; reason?: string };

export type Proposed = { ok: true; approval: PendingApproval; alreadyExecuted?: { result: unknown } } | { ok: false; error: string };

/** What happens when an approval's time runs out. */
export interface ExpiryRules {
  /** Ask once more, admins only, before expiring (the task's onApprovalExpiry: 'escalate'). */
  escalate: boolean;
  /** Record the task's deadline as the reason when it, not the approval's timeout, ended the wait. */
  explainDeadline: boolean;
}

export type Waited = { decided: true; approval: PendingApproval } | { decided: false; atDeadline: boolean };

/** A Signal's payload: an approval token, or (histories from before tokens) a bare decision. */
export type DecisionSignal = ApprovalSignal | (Omit<ApprovalDecision, 'approver'> & { approver?: Approver });

export interface ApprovalDeskDeps {
  task: TaskContext;
  options: Pick<AgentOptions, 'approvalTimeoutSeconds' | 'onApprovalExpiry'>;
  state: Pick<AgentState, 'approvals' | 'nextApprovalNumber' | 'policy' | 'evidence'>;
  actions: Pick<Activities, 'proposeAction' | 'executeAction'>;
  bookkeeping: Pick<Activities, 'indexApproval' | 'verifyApprovalSignal'>;
  events: Pick<EventStream, 'emit'>;
  steps: Pick<AnnouncedSteps, 'run' | 'record'>;
  clock: Pick<WorkClock, 'now' | 'pause' | 'pastDeadline' | 'untilDeadline'>;
  phase: Pick<PhaseTracker, 'settle'>;
  workflow: WorkflowCalls;
  /** What the Temporal UI shows of the run so far. */
  details?: Pick<RunDetails, 'note'>;
}

export class ApprovalDesk {
  constructor(private readonly deps: ApprovalDeskDeps) {}

  pending(): PendingApproval[] {
    return pendingApprovals(this.deps.state);
  }

  find(approvalId: string): PendingApproval | undefined {
    return this.deps.state.approvals.find((a) => a.approvalId === approvalId);
  }

  registerHandlers(): void {
    const { setHandler } = this.deps.workflow;
    setHandler(decideApprovalUpdate, (d) => this.apply(d), { validator: (d) => this.check(d) });
    setHandler(approvalDecisionSignal, (s) => this.onSignal(s));
  }

  /** The rules of a decision (approval-rules.ts), against this task's approvals. */
  check(d: ApprovalDecision): void {
    checkDecision(this.find(d.approvalId), d, this.deps.task.tenantId);
  }

  /** Apply a checked decision; an approval's outcome is known once its action has run. */
  async apply(d: ApprovalDecision): Promise<ApprovalOutcome> {
    const approval = this.find(d.approvalId)!;
    const by = approverIdentity(d.approver);
    if (d.decision === 'reject') {
      approval.status = 'rejected';
      approval.reason = d.reason ?? 'rejected without a reason';
      await this.publish(approval, 'approval_decided', { decision: 'reject', by, reason: approval.reason });
      return { approvalId: approval.approvalId, status: 'rejected' };
    }
    if (d.arguments !== undefined) {
      // An edit is a new proposal: re-validated, previewed, and shown again.
      const next = await this.propose(approval.tool, d.arguments, approval.rationale, approval.approvalId);
      if (!next.ok) return { approvalId: approval.approvalId, status: 'pending', error: next.error };
      approval.status = 'superseded';
      approval.supersededBy = next.approval.approvalId;
      await this.publish(approval, 'approval_decided', { decision: 'approve_with_edits', by, newApprovalId: next.approval.approvalId });
      return { approvalId: approval.approvalId, status: 'superseded', newApprovalId: next.approval.approvalId };
    }
    approval.approvedBy = [...approval.approvedBy, by];
    if (approval.approvedBy.length < approval.approvalsNeeded) {
      await this.publish(approval, 'approval_decided', { decision: 'approve', by, awaiting: approval.approvalsNeeded - approval.approvedBy.length });
      return { approvalId: approval.approvalId, status: 'awaiting_second_approval' };
    }
    approval.status = 'approved';
    await this.publish(approval, 'approval_decided', { decision: 'approve', by });
    // The caller learns what happened: wait until the gate has executed the action.
    await this.deps.workflow.condition(() => approval.status !== 'approved');
    return { approvalId: approval.approvalId, status: approval.status, result: approval.result, error: approval.reason };
  }

  /** A Signal decides only what an Update could: with a verified token, through the same rules. */
  async onSignal(s: DecisionSignal): Promise<void> {
    const { task, bookkeeping, workflow } = this.deps;
    let decision: ApprovalDecision;
    if (workflow.patched('approval-signal-needs-token')) {
      // Signals carry no caller identity: the decision counts only with a token the API signed.
      const verdict = await withSummary(bookkeeping.verifyApprovalSignal, summaries.verifySignal(), { taskId: task.taskId, tenantId: task.tenantId, signal: s });
      if (!verdict.ok) return this.refuseSignal(verdict.approvalId, verdict.reason);
      decision = verdict.decision;
    } else {
      // Runs recorded before tokens: the UI's operator was trusted as an admin of this tenant.
      const legacy = s as Omit<ApprovalDecision, 'approver'> & { approver?: Approver };
      decision = { ...legacy, approver: legacy.approver ?? { keyId: 'temporal-ui', tenantId: task.tenantId, roles: ['admin'] } };
    }
    try {
      this.check(decision);
    } catch (err) {
      return this.refuseSignal(decision.approvalId, (err as Error).message);
    }
    await this.apply(decision);
  }

  /** A Signal that decides nothing is still on the record: the event stream, the steps and the log. */
  private refuseSignal(approvalId: string | undefined, reason: string): void {
    this.deps.workflow.warn('approval signal refused', { approvalId, reason });
    this.deps.events.emit('approval_signal_refused', { approvalId, reason });
    this.deps.steps.record({ name: 'approval_signal', status: 'failed', error: reason, detail: { approvalId } });
  }

  /**
   * Propose an action: previewed, hashed, attributed and put to its approval policy by the
   * proposeAction activity. An auto-approved one is approved at once; one the ledger already
   * ran is returned with its recorded result; any other waits for people.
   */
  async propose(tool: string, args: Record<string, unknown>, rationale: string, replaces?: string): Promise<Proposed> {
    const { task, state, options, clock } = this.deps;
    const approvalId = `apr_${state.nextApprovalNumber++}`;
    const proposal = await withSummary(this.deps.actions.proposeAction, summaries.propose(tool, args, approvalId), {
      tenantId: task.tenantId,
      taskId: task.taskId,
      vaultTaskId: task.vaultTaskId,
      policy: state.policy,
      collection: task.collection,
      approvalId,
      tool,
      arguments: args,
      evidence: state.evidence.slice(-30),
    });
    if (!proposal.ok) return proposal;
    const now = clock.now();
    const approval: PendingApproval = {
      approvalId,
      tool,
      arguments: proposal.maskedArguments ?? args,
      argumentsHash: proposal.argumentsHash,
      preview: proposal.preview,
      rationale: rationale.slice(0, 2000),
      provenance: proposal.provenance,
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + options.approvalTimeoutSeconds * 1000).toISOString(),
      requiredRole: proposal.policy.requiredRole,
      approvalsNeeded: Math.max(1, proposal.policy.approvalsNeeded),
      approvedBy: [],
      status: 'pending',
    };
    state.approvals.push(approval);
    if (proposal.alreadyExecuted) {
      approval.status = 'executed';
      approval.result = proposal.alreadyExecuted.result;
      approval.approvedBy = ['ledger'];
      return { ok: true, approval, alreadyExecuted: proposal.alreadyExecuted };
    }
    if (proposal.policy.mode === 'auto') {
      approval.status = 'approved';
      approval.approvedBy = [`policy: ${proposal.policy.rule}`];
      await this.publish(approval, 'approval_decided', { decision: 'approve', by: 'policy', rule: proposal.policy.rule });
      return { ok: true, approval };
    }
    clock.pause();
    await this.publish(approval, 'approval_requested', { preview: approval.preview.summary, replaces, expiresAt: approval.expiresAt });
    return { ok: true, approval };
  }

  /**
   * The one wait, for tool approvals and budget extensions alike: until someone decides (an
   * approval approved with edits hands the wait on to the approval that shows them), or the
   * approval's time runs out under `rules`.
   */
  async awaitDecision(first: PendingApproval, rules: ExpiryRules): Promise<Waited> {
    const { clock, options, workflow } = this.deps;
    let approval = first;
    for (;;) {
      const waitMs = clock.untilDeadline(Date.parse(approval.expiresAt) - clock.now());
      // Called even when the approval is decided already (auto-approved): the timer it starts is part of the history.
      const decided = await workflow.condition(() => approval.status !== 'pending', waitMs);
      if (decided) {
        if (approval.status !== 'superseded') return { decided: true, approval };
        approval = this.find(approval.supersededBy!)!;
        continue;
      }
      if (rules.explainDeadline && clock.pastDeadline()) {
        approval.status = 'expired';
        approval.reason = 'the task reached its deadline';
        await this.publish(approval, 'approval_decided', { decision: 'expire', reason: approval.reason });
        return { decided: false, atDeadline: true };
      }
      if (rules.escalate && !approval.escalated) {
        approval.escalated = true;
        approval.requiredRole = 'admin';
        approval.expiresAt = new Date(clock.now() + options.approvalTimeoutSeconds * 1000).toISOString();
        await this.publish(approval, 'approval_decided', { decision: 'escalate', requiredRole: 'admin' });
        continue;
      }
      approval.status = 'expired';
      await this.publish(approval, 'approval_decided', { decision: 'expire' });
      return { decided: false, atDeadline: false };
    }
  }

  /** A write tool call: proposed, decided by people, and if approved executed exactly once. */
  async gate(tool: string, args: Record<string, unknown>, rationale: string): Promise<ToolResult> {
    const proposed = await this.propose(tool, args, rationale);
    if (!proposed.ok) return { ok: false, error: proposed.error };
    if (proposed.alreadyExecuted) {
      // In a fork, the write the original executed keeps its place in the steps (no command:
      // a record only), so the fork's later steps have the original's indexes.
      if (this.deps.task.forkOf) {
        this.deps.steps.record({ name: `execute:${tool}`, status: 'completed', detail: { approvalId: proposed.approval.approvalId, ok: true, replayed: true, summary: `executed by ${this.deps.task.forkOf} (action ledger)` } });
      }
      return { ok: true, content: proposed.alreadyExecuted.result, replayed: true };
    }
    const waited = await this.awaitDecision(proposed.approval, { escalate: this.deps.options.onApprovalExpiry === 'escalate', explainDeadline: true });
    if (!waited.decided) {
      return { ok: false, error: waited.atDeadline ? `the task reached its deadline before ${tool} was decided` : `the approval for ${tool} expired without a decision`, expired: true };
    }
    const approval = waited.approval;
    if (approval.status === 'rejected') return { ok: false, error: `${tool} was rejected by the approver`, rejected: true, reason: approval.reason };
    return this.execute(approval);
  }

  private async execute(approval: PendingApproval): Promise<ToolResult> {
    const { task, state, actions } = this.deps;
    const run = () =>
      this.deps.steps.run(
        `execute:${approval.tool}`,
        () =>
          withSummary(actions.executeAction, summaries.execute(approval.tool, approval.arguments, approval.approvalId), {
            tenantId: task.tenantId,
            taskId: task.taskId,
            vaultTaskId: task.vaultTaskId,
            policy: state.policy,
            collection: task.collection,
            approvalId: approval.approvalId,
            tool: approval.tool,
            arguments: approval.arguments,
            argumentsHash: approval.argumentsHash,
            approvedBy: approval.approvedBy,
          }),
        (r) => ({ detail: { approvalId: approval.approvalId, ok: r.ok, summary: r.ok ? r.summary : r.error, replayed: r.ok ? r.replayed : undefined } }),
      );
    // An action that cannot run (retries exhausted, a ledger conflict) is reported as failed,
    // to the approver waiting on the Update and to the model, instead of failing the task.
    const executed = await run().catch((err: unknown) => {
      if (isCancellation(err)) throw err;
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      return { ok: false as const, error: cause ?? (err as Error).message };
    });
    approval.status = executed.ok ? 'executed' : 'failed';
    if (executed.ok) approval.result = executed.result;
    else approval.reason = executed.error;
    await this.publish(approval, 'approval_decided', { decision: approval.status, summary: executed.ok ? executed.summary : executed.error });
    return executed.ok ? { ok: true, content: executed.result } : { ok: false, error: executed.error };
  }

  /** A change of an approval: announced, the phase settled, and mirrored into the approvals index. */
  async publish(approval: PendingApproval, type: AgentEventType, data: Record<string, unknown>): Promise<void> {
    const { task, events, phase, bookkeeping } = this.deps;
    this.deps.details?.note(`${approval.approvalId} ${approval.tool}: ${approval.status.replace(/_/g, ' ')}`);
    events.emit(type, { approvalId: approval.approvalId, tool: approval.tool, status: approval.status, ...data });
    phase.settle();
    await withSummary(bookkeeping.indexApproval, summaries.indexApproval(approval.approvalId, approval.tool, approval.status), { tenantId: task.tenantId, taskId: task.taskId, approval });
  }

  /** Leave no approval looking decidable once the task is gone. */
  async withdrawPending(reason: string): Promise<void> {
    const { task, bookkeeping } = this.deps;
    for (const a of this.pending()) {
      a.status = 'rejected';
      a.reason = reason;
      await withSummary(bookkeeping.indexApproval, summaries.indexApproval(a.approvalId, a.tool, a.status), { tenantId: task.tenantId, taskId: task.taskId, approval: a });
    }
  }
}
