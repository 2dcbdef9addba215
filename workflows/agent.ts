// runAgent: a model decides the next action, the workflow runs it, feeds the result back and
// repeats until the task is done. Read-only tools run at once (in parallel); write actions
// stop at an approval gate (an Update from the API, a Signal from the Temporal UI) and then
// run exactly once through the action ledger. Budgets pause the task with an "extend
// budget?" approval instead of failing it. Follow-up messages continue the conversation;
// long conversations continue as new with a compact state.
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  log as workflowLog,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, TaskPolicy } from '../activities/index.js';
import type { DecidedCall, DecideOutput } from '../activities/agent/decide.js';
import type { ChatMessage } from '../activities/gateway/types.js';
import type { ProvenanceItem } from '../activities/tools/types.js';
import {
  AWAITING_APPROVAL_SEARCH_ATTRIBUTE,
  COST_USED_SEARCH_ATTRIBUTE,
  STEPS_USED_SEARCH_ATTRIBUTE,
  TASK_STATUS_SEARCH_ATTRIBUTE,
  TASK_TYPE_SEARCH_ATTRIBUTE,
  TENANT_SEARCH_ATTRIBUTE,
} from '../contracts/search-attributes.js';
import {
  agentEventsQuery,
  agentStatusQuery,
  approvalDecisionSignal,
  decideApprovalUpdate,
  sendMessageUpdate,
  type AgentBudgets,
  type AgentCarriedState,
  type AgentEndReason,
  type AgentEvent,
  type AgentEventType,
  type AgentPhase,
  type AgentResult,
  type AgentTaskInput,
  approverIdentity,
  type ApprovalDecision,
  type ApprovalOutcome,
  type BudgetUsage,
  type ConversationTurn,
  type GuardrailOutcome,
  type PendingApproval,
  type PlanItem,
  type StepRecord,
} from './messages.js';
import { settleAnswer, type Checked } from './guarded-answer.js';
import { redactSecrets } from './policy/redact.js';
import { openReviewDesk } from './review.js';
import { StepLog } from './policy/steps.js';
import { addUsage, NO_USAGE } from './policy/usage.js';

const models = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidInput', 'ContextTooLarge', 'ModelRejected', 'UnknownModel'] },
});

const tools = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '20 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidInput'] },
});

// An approved action must not be lost: it is retried for as long as it fails transiently
// (the ledger makes every retry safe), and a dead worker is noticed by its heartbeat.
const actions = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 30, nonRetryableErrorTypes: ['InvalidInput', 'ArgumentsHashMismatch', 'LedgerConflict'] },
});

// Bookkeeping (the approvals index, the tool list) as regular activities, not local ones: an
// Update handler awaits them, and local-activity markers interleaved with Update events
// replayed in a different order than they ran (caught by the replay test).
const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumAttempts: 10 },
});

const ASK_USER = 'ask_user';
/** History events after which a run continues as new (Temporal suggests it near 4k+ events too). */
const HISTORY_LIMIT = 8_000;
/** Events kept for the event stream (older ones are dropped; the ledger and approvals table keep the record). */
const EVENT_BUFFER = 1_000;

type ToolResultContent = { ok: true; content: unknown; replayed?: boolean } | { ok: false; error: string; rejected?: boolean; expired?: boolean; reason?: string };

interface TurnOutcome {
  answer: string;
  endReason: AgentEndReason;
  model: string;
}

export async function runAgent(input: AgentTaskInput): Promise<AgentResult> {
  const info = workflowInfo();
  const taskId = info.workflowId;
  const carried = input.carried;
  const opts = input.options;

  // ----- state (all of it carried across continue-as-new) -----
  const steps = new StepLog();
  const transcript: ChatMessage[] = (carried?.transcript as ChatMessage[] | undefined) ?? [];
  const approvals: PendingApproval[] = carried?.approvals ?? [];
  let nextApprovalNumber = carried?.nextApprovalNumber ?? 1;
  const events: AgentEvent[] = carried?.events ?? [];
  let nextEventSeq = carried?.nextEventSeq ?? 1;
  const answers: string[] = carried?.answers ?? [];
  const conversation: ConversationTurn[] = carried?.conversation ?? [...input.conversation];
  const pendingMessages: string[] = carried?.pendingMessages ?? [];
  let budgets: AgentBudgets = carried?.budgets ?? opts.budgets;
  const used: BudgetUsage = carried?.used ?? { steps: 0, tokens: 0, costUsd: 0, toolCalls: 0, wallSeconds: 0 };
  let usage = carried?.usage ?? NO_USAGE;
  let evidence: ProvenanceItem[] = [];
  let plan: PlanItem[] = [];
  let phase: AgentPhase = 'working';
  let question: string | undefined;
  let finished = false;
  let lastModel = 'none';
  // Guardrails: the policy is fetched by the first input guard and kept for the whole task;
  // a plan's sub-tasks share their parent's PII vault (their inputs carry its placeholders).
  let policy: TaskPolicy | undefined = carried?.policy;
  const vaultTaskId = input.parent?.taskId ?? taskId;
  let lastGuardrails: GuardrailOutcome | undefined;

  // Wall time counts work, not waiting for people: a clock that stops while the task waits.
  let workingSince: number | undefined = Date.now();
  const pauseClock = () => {
    if (workingSince !== undefined) used.wallSeconds += (Date.now() - workingSince) / 1000;
    workingSince = undefined;
  };
  const resumeClock = () => {
    workingSince ??= Date.now();
  };
  const wallSeconds = () => used.wallSeconds + (workingSince !== undefined ? (Date.now() - workingSince) / 1000 : 0);

  // The deadline counts everything, waiting included; every wait is cut short by it.
  const deadline = opts.deadlineAt ? Date.parse(opts.deadlineAt) : Infinity;
  const pastDeadline = () => Date.now() >= deadline;
  // At least 1 ms: condition(fn, 0) would record a patch marker for its pre-1.5 meaning.
  const untilDeadline = (ms: number) => Math.max(1, Math.min(ms, deadline - Date.now()));

  function emit(type: AgentEventType, data: Record<string, unknown>): void {
    events.push({ seq: nextEventSeq++, type, at: new Date().toISOString(), data });
    if (events.length > EVENT_BUFFER) events.splice(0, events.length - EVENT_BUFFER);
  }

  const pending = () => approvals.filter((a) => a.status === 'pending');

  /** Run a step: recorded for the status query, announced on the event stream. */
  async function step<T>(name: string, fn: () => Promise<T>, describe: (result: T) => Partial<StepRecord>): Promise<T> {
    emit('step_started', { step: name });
    let record: Partial<StepRecord> = {};
    try {
      const result = await steps.run(name, fn, (r) => (record = describe(r)));
      emit('step_finished', { step: name, status: 'completed', latencyMs: record.latencyMs, model: record.model, ...pickSummary(record.detail) });
      return result;
    } catch (err) {
      emit('step_finished', { step: name, status: 'failed', error: (err as Error).message });
      throw err;
    }
  }

  // The starter decides whether a task is indexed for search: the attributes it set at start
  // (the API sets them all) are the ones kept current. A server without them registered
  // (the time-skipping test server) then never sees an unknown attribute.
  const indexed = new Set(info.typedSearchAttributes.getAll().map((p) => p.key.name));
  // Each upsert is a visibility write: only when the phase or the waiting state changes, and
  // for the budget counters every few steps (and at every change of phase).
  let lastIndexed = '';
  let stepsAtLastIndex = -1;
  function setPhase(next: AgentPhase): void {
    phase = next;
    const state = `${next}:${pending().length > 0}`;
    if (state === lastIndexed && used.steps - stepsAtLastIndex < 5) return;
    lastIndexed = state;
    stepsAtLastIndex = used.steps;
    const updates = [
      { key: TASK_STATUS_SEARCH_ATTRIBUTE, value: next },
      { key: AWAITING_APPROVAL_SEARCH_ATTRIBUTE, value: pending().length > 0 },
      { key: STEPS_USED_SEARCH_ATTRIBUTE, value: used.steps },
      { key: COST_USED_SEARCH_ATTRIBUTE, value: Math.round(used.costUsd * 1e6) / 1e6 },
    ].filter((u) => indexed.has(u.key.name));
    if (updates.length) upsertSearchAttributes(updates as Parameters<typeof upsertSearchAttributes>[0]);
  }

  // Work resumes only when nobody is being waited for.
  function settlePhase(): void {
    if (finished) return;
    if (pending().length > 0) setPhase('awaiting_approval');
    else if (question !== undefined) setPhase('awaiting_input');
    else {
      resumeClock();
      setPhase('working');
    }
  }

  // A reviewer answers when a failure policy or the user hands the conversation to a human.
  const review = openReviewDesk(input.tenantId, () => {
    const waiting = review.pending();
    if (waiting) {
      pauseClock();
      setPhase('needs_review');
      emit('review_requested', { reason: waiting.reason, failures: waiting.failures, expiresAt: waiting.expiresAt });
    } else settlePhase();
  });

  // ----- queries, updates, signals -----
  setHandler(agentStatusQuery, () => ({
    phase,
    mode: opts.mode,
    plan,
    steps: steps.steps,
    pendingApprovals: pending(),
    approvals,
    budgets,
    used: { ...used, wallSeconds: Math.round(wallSeconds() * 10) / 10 },
    usage,
    answers,
    question,
    review: review.pending(),
  }));
  setHandler(agentEventsQuery, (since: number) => events.filter((e) => e.seq > since));

  function findApproval(id: string): PendingApproval | undefined {
    return approvals.find((a) => a.approvalId === id);
  }

  /** The checks of a decision, shared by the Update's validator and the Signal's handler. */
  function checkDecision(d: ApprovalDecision): void {
    const approval = findApproval(d.approvalId);
    if (!approval) throw ApplicationFailure.create({ type: 'ApprovalNotFound', message: `no approval ${d.approvalId} in this task`, nonRetryable: true });
    if (approval.status !== 'pending') {
      throw ApplicationFailure.create({ type: 'ApprovalAlreadyDecided', message: `approval ${d.approvalId} is already ${approval.status}`, nonRetryable: true });
    }
    if (d.approver.tenantId !== input.tenantId) {
      throw ApplicationFailure.create({ type: 'ApprovalForbidden', message: 'this approval belongs to another tenant', nonRetryable: true });
    }
    const roles = d.approver.roles;
    if (!roles.includes('admin') && !roles.includes(approval.requiredRole)) {
      throw ApplicationFailure.create({ type: 'ApprovalForbidden', message: `deciding ${approval.tool} needs the "${approval.requiredRole}" role`, nonRetryable: true });
    }
    if (d.argumentsHash !== approval.argumentsHash) {
      throw ApplicationFailure.create({
        type: 'ArgumentsHashMismatch',
        message: 'argumentsHash does not match the pending arguments: reload the approval and decide on what it shows',
        nonRetryable: true,
      });
    }
    // People, not keys: a second key of the same person is not a second approver.
    if (d.decision === 'approve' && approval.approvedBy.includes(approverIdentity(d.approver))) {
      throw ApplicationFailure.create({ type: 'ApprovalAlreadyDecided', message: 'this approver has already approved; a second approver is needed', nonRetryable: true });
    }
    if (d.arguments !== undefined && (typeof d.arguments !== 'object' || d.arguments === null || Array.isArray(d.arguments))) {
      throw ApplicationFailure.create({ type: 'InvalidArguments', message: 'arguments must be an object', nonRetryable: true });
    }
  }

  async function applyDecision(d: ApprovalDecision): Promise<ApprovalOutcome> {
    const approval = findApproval(d.approvalId)!;
    const by = approverIdentity(d.approver);
    if (d.decision === 'reject') {
      approval.status = 'rejected';
      approval.reason = d.reason ?? 'rejected without a reason';
      await publish(approval, 'approval_decided', { decision: 'reject', by, reason: approval.reason });
      return { approvalId: approval.approvalId, status: 'rejected' };
    }
    if (d.arguments !== undefined) {
      // An edit is a new proposal: re-validated, previewed, and shown again.
      const next = await propose(approval.tool, d.arguments, approval.rationale, approval.approvalId);
      if (!next.ok) return { approvalId: approval.approvalId, status: 'pending', error: next.error };
      approval.status = 'superseded';
      approval.supersededBy = next.approval.approvalId;
      await publish(approval, 'approval_decided', { decision: 'approve_with_edits', by, newApprovalId: next.approval.approvalId });
      return { approvalId: approval.approvalId, status: 'superseded', newApprovalId: next.approval.approvalId };
    }
    approval.approvedBy = [...approval.approvedBy, by];
    if (approval.approvedBy.length < approval.approvalsNeeded) {
      await publish(approval, 'approval_decided', { decision: 'approve', by, awaiting: approval.approvalsNeeded - approval.approvedBy.length });
      return { approvalId: approval.approvalId, status: 'awaiting_second_approval' };
    }
    approval.status = 'approved';
    await publish(approval, 'approval_decided', { decision: 'approve', by });
    // The caller learns what happened: wait until the gate has executed the action.
    await condition(() => approval.status !== 'approved');
    return { approvalId: approval.approvalId, status: approval.status, result: approval.result, error: approval.reason };
  }

  setHandler(decideApprovalUpdate, applyDecision, { validator: checkDecision });
  /** A Signal that decides nothing is still on the record: the event stream, the steps and the log. */
  function refuseSignal(approvalId: string | undefined, reason: string): void {
    workflowLog.warn('approval signal refused', { approvalId, reason });
    emit('approval_signal_refused', { approvalId, reason });
    steps.record({ name: 'approval_signal', status: 'failed', error: reason, detail: { approvalId } });
  }

  setHandler(approvalDecisionSignal, async (d) => {
    let decision: ApprovalDecision;
    if (patched('approval-signal-needs-token')) {
      // Signals carry no caller identity: the decision counts only with a token the API signed.
      const verdict = await bookkeeping.verifyApprovalSignal({ taskId, tenantId: input.tenantId, signal: d });
      if (!verdict.ok) return refuseSignal(verdict.approvalId, verdict.reason);
      decision = verdict.decision;
    } else {
      // Runs recorded before tokens: the UI's operator was trusted as an admin of this tenant.
      const legacy = d as Omit<ApprovalDecision, 'approver'> & { approver?: ApprovalDecision['approver'] };
      decision = { ...legacy, approver: legacy.approver ?? { keyId: 'temporal-ui', tenantId: input.tenantId, roles: ['admin'] } };
    }
    try {
      checkDecision(decision);
    } catch (err) {
      return refuseSignal(decision.approvalId, (err as Error).message);
    }
    await applyDecision(decision);
  });

  setHandler(
    sendMessageUpdate,
    ({ text }) => {
      pendingMessages.push(text);
      // Not the text: it has not been through the input guard yet (PII would reach the event stream).
      emit('message_received', { chars: text.length });
      return { accepted: true as const, turn: answers.length + pendingMessages.length };
    },
    {
      validator: ({ text }) => {
        if (finished) throw ApplicationFailure.create({ type: 'TaskFinished', message: 'the task has finished', nonRetryable: true });
        if (typeof text !== 'string' || !text.trim() || text.length > 10_000) {
          throw ApplicationFailure.create({ type: 'InvalidArguments', message: 'text must be 1 to 10,000 characters', nonRetryable: true });
        }
      },
    },
  );

  // ----- approvals -----

  async function publish(approval: PendingApproval, type: AgentEventType, data: Record<string, unknown>): Promise<void> {
    emit(type, { approvalId: approval.approvalId, tool: approval.tool, status: approval.status, ...data });
    settlePhase();
    await bookkeeping.indexApproval({ tenantId: input.tenantId, taskId, approval });
  }

  async function propose(
    tool: string,
    args: Record<string, unknown>,
    rationale: string,
    replaces?: string,
  ): Promise<{ ok: true; approval: PendingApproval; auto: boolean; alreadyExecuted?: { result: unknown } } | { ok: false; error: string }> {
    const approvalId = `apr_${nextApprovalNumber++}`;
    const proposal = await actions.proposeAction({ tenantId: input.tenantId, taskId, vaultTaskId, policy, collection: input.collection, approvalId, tool, arguments: args, evidence: evidence.slice(-30) });
    if (!proposal.ok) return proposal;
    const now = Date.now();
    const approval: PendingApproval = {
      approvalId,
      tool,
      arguments: proposal.maskedArguments ?? args,
      argumentsHash: proposal.argumentsHash,
      preview: proposal.preview,
      rationale: rationale.slice(0, 2000),
      provenance: proposal.provenance,
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + opts.approvalTimeoutSeconds * 1000).toISOString(),
      requiredRole: proposal.policy.requiredRole,
      approvalsNeeded: Math.max(1, proposal.policy.approvalsNeeded),
      approvedBy: [],
      status: 'pending',
    };
    approvals.push(approval);
    if (proposal.alreadyExecuted) {
      approval.status = 'executed';
      approval.result = proposal.alreadyExecuted.result;
      approval.approvedBy = ['ledger'];
      return { ok: true, approval, auto: true, alreadyExecuted: proposal.alreadyExecuted };
    }
    if (proposal.policy.mode === 'auto') {
      approval.status = 'approved';
      approval.approvedBy = [`policy: ${proposal.policy.rule}`];
      await publish(approval, 'approval_decided', { decision: 'approve', by: 'policy', rule: proposal.policy.rule });
      return { ok: true, approval, auto: true };
    }
    pauseClock();
    await publish(approval, 'approval_requested', { preview: approval.preview.summary, replaces, expiresAt: approval.expiresAt });
    return { ok: true, approval, auto: false };
  }

  /** Wait for a decision on an approval (following edits), then act on it. */
  async function gate(tool: string, args: Record<string, unknown>, rationale: string): Promise<ToolResultContent> {
    const proposed = await propose(tool, args, rationale);
    if (!proposed.ok) return { ok: false, error: proposed.error };
    if (proposed.alreadyExecuted) return { ok: true, content: proposed.alreadyExecuted.result, replayed: true };
    let approval = proposed.approval;
    for (;;) {
      const waitMs = untilDeadline(Date.parse(approval.expiresAt) - Date.now());
      const decided = await condition(() => approval.status !== 'pending', waitMs);
      if (!decided && pastDeadline()) {
        approval.status = 'expired';
        approval.reason = 'the task reached its deadline';
        await publish(approval, 'approval_decided', { decision: 'expire', reason: approval.reason });
        return { ok: false, error: `the task reached its deadline before ${tool} was decided`, expired: true };
      }
      if (!decided) {
        if (opts.onApprovalExpiry === 'escalate' && !approval.escalated) {
          approval.escalated = true;
          approval.requiredRole = 'admin';
          approval.expiresAt = new Date(Date.now() + opts.approvalTimeoutSeconds * 1000).toISOString();
          await publish(approval, 'approval_decided', { decision: 'escalate', requiredRole: 'admin' });
          continue;
        }
        approval.status = 'expired';
        await publish(approval, 'approval_decided', { decision: 'expire' });
        return { ok: false, error: `the approval for ${tool} expired without a decision`, expired: true };
      }
      if (approval.status === 'superseded') {
        approval = findApproval(approval.supersededBy!)!;
        continue;
      }
      break;
    }
    if (approval.status === 'rejected') {
      return { ok: false, error: `${tool} was rejected by the approver`, rejected: true, reason: approval.reason };
    }
    // Approved: execute exactly once.
    const current = approval;
    const execute = () =>
      step(
        `execute:${tool}`,
        () =>
          actions.executeAction({
          tenantId: input.tenantId,
          taskId,
          vaultTaskId,
          policy,
          collection: input.collection,
          approvalId: current.approvalId,
          tool,
          arguments: current.arguments,
          argumentsHash: current.argumentsHash,
          approvedBy: current.approvedBy,
        }),
        (r) => ({ detail: { approvalId: current.approvalId, ok: r.ok, summary: r.ok ? r.summary : r.error, replayed: r.ok ? r.replayed : undefined } }),
      );
    // An action that cannot run (retries exhausted, a ledger conflict) is reported as failed,
    // to the approver waiting on the Update and to the model, instead of failing the task.
    const executed = await execute().catch((err: unknown) => {
      if (isCancellation(err)) throw err;
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      return { ok: false as const, error: cause ?? (err as Error).message };
    });
    current.status = executed.ok ? 'executed' : 'failed';
    if (executed.ok) current.result = executed.result;
    else current.reason = executed.error;
    await publish(current, 'approval_decided', { decision: current.status, summary: executed.ok ? executed.summary : executed.error });
    return executed.ok ? { ok: true, content: executed.result } : { ok: false, error: executed.error };
  }

  // ----- budgets -----

  function exceededBudget(): AgentEndReason | undefined {
    if (used.steps >= budgets.maxSteps) return 'step_budget';
    if (used.tokens >= budgets.maxTokens) return 'token_budget';
    if (used.costUsd >= budgets.maxCostUsd) return 'cost_budget';
    if (used.toolCalls >= budgets.maxToolCalls) return 'tool_call_budget';
    if (wallSeconds() >= budgets.maxWallSeconds) return 'wall_time_budget';
    return undefined;
  }

  /** Pause with an "extend budget?" approval; true if the owner extended it. */
  async function askToExtend(reason: AgentEndReason): Promise<boolean> {
    const proposed: AgentBudgets = {
      maxSteps: reason === 'step_budget' ? budgets.maxSteps * 2 : budgets.maxSteps,
      maxTokens: reason === 'token_budget' ? budgets.maxTokens * 2 : budgets.maxTokens,
      maxCostUsd: reason === 'cost_budget' ? budgets.maxCostUsd * 2 : budgets.maxCostUsd,
      maxToolCalls: reason === 'tool_call_budget' ? budgets.maxToolCalls * 2 : budgets.maxToolCalls,
      maxWallSeconds: reason === 'wall_time_budget' ? budgets.maxWallSeconds * 2 : budgets.maxWallSeconds,
    };
    const outcome = await gateBudget(proposed, reason);
    if (!outcome) return false;
    budgets = outcome;
    return true;
  }

  async function gateBudget(proposed: AgentBudgets, reason: AgentEndReason): Promise<AgentBudgets | undefined> {
    const args = { reason, budgets: proposed, used: { ...used, wallSeconds: Math.round(wallSeconds()) } };
    const proposal = await propose('extend_budget', args, `The task reached its ${reason.replace('_', ' ')}.`);
    if (!proposal.ok) return undefined;
    let approval = proposal.approval;
    for (;;) {
      const decided = await condition(() => approval.status !== 'pending', untilDeadline(Date.parse(approval.expiresAt) - Date.now()));
      if (!decided) {
        approval.status = 'expired';
        await publish(approval, 'approval_decided', { decision: 'expire' });
        return undefined;
      }
      if (approval.status === 'superseded') {
        approval = findApproval(approval.supersededBy!)!;
        continue;
      }
      break;
    }
    if (approval.status !== 'approved') return undefined;
    approval.status = 'executed';
    approval.result = { budgets: (approval.arguments as { budgets: AgentBudgets }).budgets };
    await publish(approval, 'approval_decided', { decision: 'executed' });
    return sanitizeBudgets((approval.arguments as { budgets?: Partial<AgentBudgets> }).budgets, budgets);
  }

  // ----- one turn: decide → act, until an answer or a stop -----

  function recordUsage(d: Pick<DecideOutput, 'usage'>): void {
    usage = addUsage(usage, d.usage);
    used.tokens += d.usage.inputTokens + d.usage.outputTokens;
    used.costUsd = Math.round((used.costUsd + d.usage.costUsd) * 1e8) / 1e8;
  }

  async function runTool(call: Extract<DecidedCall, { ok: true }>, rationale: string): Promise<ToolResultContent> {
    if (call.name === ASK_USER) return askUser(String(call.arguments.question ?? 'Could you tell me more?'));
    if (call.kind === 'write') return gate(call.name, call.arguments, rationale);
    const out = await step(
      `tool:${call.name}`,
      () => tools.runReadTool({ tenantId: input.tenantId, taskId, vaultTaskId, policy, collection: input.collection, callId: call.id, tool: call.name, arguments: call.arguments, model: opts.model }),
      (r) => ({
        latencyMs: r.latencyMs,
        usage: r.ok ? r.usage : undefined,
        model: r.ok ? r.model : undefined,
        detail: { arguments: redactSecrets(call.arguments), ok: r.ok, summary: r.ok ? r.summary : r.error, guardrails: r.ok ? r.checks : undefined },
      }),
    );
    if (!out.ok) return { ok: false, error: out.error };
    if (out.usage) recordUsage({ usage: out.usage });
    // The tool's own evidence (chunks, rows); a tool that gives none is cited by its output.
    const own = out.provenance.length ? out.provenance : [{ type: 'tool_output' as const, tool: call.name, callId: call.id, excerpt: JSON.stringify(out.content).slice(0, 2000) }];
    evidence = [...evidence, ...own].slice(-60);
    return { ok: true, content: out.content };
  }

  async function askUser(text: string): Promise<ToolResultContent> {
    question = text;
    pauseClock();
    emit('step_started', { step: ASK_USER, question: text });
    settlePhase();
    const answered = await condition(() => pendingMessages.length > 0, untilDeadline(opts.approvalTimeoutSeconds * 1000));
    question = undefined;
    settlePhase();
    if (!answered) return { ok: false, error: 'the user did not answer in time' };
    // The reply is user input like any other: guarded (and masked) before the model reads it.
    const g = await guardUser(pendingMessages.shift()!);
    if (g.action === 'refuse') return { ok: false, error: `the reply was withheld by the input guard (${g.reason})` };
    const reply = g.text;
    conversation.push({ role: 'user', content: reply });
    evidence.push({ type: 'user_message', excerpt: reply.slice(0, 2000) });
    emit('step_finished', { step: ASK_USER, reply: reply.slice(0, 500) });
    return { ok: true, content: { reply } };
  }

  async function runTurn(task: string, subtaskResults?: Array<{ title: string; result: string }>, model = opts.model): Promise<TurnOutcome> {
    let malformedInARow = 0;
    const allowed = await allowedTools();
    for (;;) {
      if (pastDeadline()) return { answer: `Stopped: the task reached its deadline (${opts.deadlineAt}).`, endReason: 'deadline', model: lastModel };
      const over = exceededBudget();
      if (over) {
        emit('step_finished', { step: 'budget', reached: over });
        pauseClock();
        const extended = await askToExtend(over);
        settlePhase();
        if (!extended) return { answer: `Stopped: the task reached its ${over.replace(/_/g, ' ')} and it was not extended.`, endReason: over, model: lastModel };
      }
      if (shouldContinueAsNew()) await continueAsNewNow(task);

      const decision = await step(
        'decide',
        () => models.decideNextStep({ tenantId: input.tenantId, taskId, vaultTaskId, policy, task, conversation, transcript, tools: allowed, model, subtaskResults }),
        (d) => ({
          latencyMs: d.latencyMs,
          model: d.model,
          usage: d.usage,
          detail: { calls: d.calls.map((c) => ({ tool: c.name, ok: c.ok, arguments: c.ok ? redactSecrets(c.arguments) : undefined, error: c.ok ? undefined : c.error })) },
        }),
      );
      used.steps += 1;
      lastModel = decision.model;
      recordUsage(decision);

      if (decision.calls.length === 0) {
        transcript.push({ role: 'assistant', content: decision.content });
        return { answer: decision.content, endReason: 'answered', model: decision.model };
      }
      transcript.push({
        role: 'assistant',
        content: decision.content,
        toolCalls: decision.calls.map((c) => ({ id: c.id, name: c.name, arguments: c.rawArguments })),
      });

      const valid = decision.calls.filter((c): c is Extract<DecidedCall, { ok: true }> => c.ok);
      malformedInARow = valid.length === 0 ? malformedInARow + 1 : 0;
      used.toolCalls += valid.length;
      const results = new Map<string, ToolResultContent>();
      for (const c of decision.calls) if (!c.ok) results.set(c.id, { ok: false, error: c.error });

      // Reads at once and in parallel; then questions to the user; write gates in parallel,
      // so several proposed actions wait for their approvers side by side.
      const reads = valid.filter((c) => c.kind === 'read' && c.name !== ASK_USER);
      const asks = valid.filter((c) => c.name === ASK_USER);
      const writes = valid.filter((c) => c.kind === 'write');
      await Promise.all(reads.map(async (c) => results.set(c.id, await runTool(c, decision.content))));
      for (const c of asks) results.set(c.id, await runTool(c, decision.content));
      await Promise.all(writes.map(async (c) => results.set(c.id, await runTool(c, decision.content))));
      settlePhase();

      for (const c of decision.calls) {
        transcript.push({ role: 'tool', toolCallId: c.id, content: JSON.stringify(results.get(c.id)).slice(0, 12_000) });
      }
      if (malformedInARow > opts.maxMalformedToolCalls) {
        return { answer: `Stopped: the model made ${malformedInARow} malformed tool calls in a row.`, endReason: 'malformed_tool_calls', model: decision.model };
      }
    }
  }

  let toolKinds: Array<{ name: string; kind: string }> | undefined;
  async function allowedTools(): Promise<string[]> {
    toolKinds ??= await bookkeeping.listTools();
    const names = toolKinds.map((t) => t.name);
    return opts.tools ? names.filter((t) => opts.tools!.includes(t)) : names;
  }

  // ----- plan and execute -----

  async function runPlan(task: string): Promise<TurnOutcome> {
    const allowed = await allowedTools();
    const initial = await step(
      'plan',
      () => models.planTask({ tenantId: input.tenantId, taskId, task, tools: allowed, model: opts.model }),
      (p) => ({ latencyMs: p.latencyMs, model: p.model, usage: p.usage, detail: { subtasks: p.subtasks.length } }),
    );
    recordUsage(initial);
    plan = initial.subtasks.map((s) => ({ ...s, status: 'pending' as const }));
    // Sub-tasks research; they do not act: writes are proposed by this task, at its approval gate.
    const readOnly = allowed.filter((t) => t !== ASK_USER && toolKinds!.find((k) => k.name === t)?.kind === 'read');
    for (let round = 0; round < 3; round++) {
      await runReadySubtasks(readOnly);
      const refined = await step(
        'refine_plan',
        () =>
          models.planTask({
            tenantId: input.tenantId,
            taskId,
            task,
            tools: allowed,
            model: opts.model,
            done: plan.map((p) => ({ id: p.id, title: p.title, result: p.result ?? `(${p.status})` })),
          }),
        (p) => ({ latencyMs: p.latencyMs, model: p.model, usage: p.usage, detail: { complete: p.complete, added: p.subtasks.length } }),
      );
      recordUsage(refined);
      if (refined.complete || refined.subtasks.length === 0) break;
      const known = new Set(plan.map((p) => p.id));
      plan.push(...refined.subtasks.filter((s) => !known.has(s.id)).map((s) => ({ ...s, status: 'pending' as const })));
    }
    const results = plan.map((p) => ({ title: p.title, result: p.result ?? `(${p.status})` }));
    transcript.push({ role: 'user', content: `Results of the sub-tasks:\n${results.map((r) => `- ${r.title}: ${r.result}`).join('\n')}\n\nNow complete the task: ${task}` });
    return runTurn(task, results);
  }

  async function runReadySubtasks(readOnly: string[]): Promise<void> {
    for (;;) {
      const done = new Set(plan.filter((p) => p.status === 'completed' || p.status === 'failed').map((p) => p.id));
      const ready = plan.filter((p) => p.status === 'pending' && p.dependsOn.every((d) => done.has(d) || !plan.some((q) => q.id === d)));
      if (ready.length === 0) return;
      await Promise.all(
        ready.map(async (item) => {
          item.status = 'running';
          emit('step_started', { step: 'subtask', id: item.id, title: item.title });
          const context = item.dependsOn.map((d) => plan.find((p) => p.id === d)).filter((p) => p?.result).map((p) => `${p!.title}: ${p!.result}`);
          try {
            const child = await executeChild(runAgent, {
              workflowId: `${taskId}.${item.id}`,
              args: [
                {
                  tenantId: input.tenantId,
                  collection: input.collection,
                  input: context.length ? `${item.instruction}\n\nKnown so far:\n${context.join('\n')}` : item.instruction,
                  conversation: [],
                  options: { ...opts, mode: 'loop', tools: readOnly, keepOpenSeconds: 0 },
                  parent: { taskId, subtaskId: item.id },
                },
              ],
              typedSearchAttributes: [
                { key: TENANT_SEARCH_ATTRIBUTE, value: input.tenantId },
                { key: TASK_TYPE_SEARCH_ATTRIBUTE, value: 'subtask' },
              ],
            });
            item.status = 'completed';
            item.result = child.answer;
            usage = addUsage(usage, child.usage);
            used.tokens += child.used.tokens;
            used.costUsd = Math.round((used.costUsd + child.used.costUsd) * 1e8) / 1e8;
            used.toolCalls += child.used.toolCalls;
          } catch (err) {
            if (isCancellation(err)) throw err;
            item.status = 'failed';
            item.result = `failed: ${(err as Error).message}`;
          }
          emit('step_finished', { step: 'subtask', id: item.id, status: item.status });
        }),
      );
    }
  }

  // ----- continue-as-new -----

  function shouldContinueAsNew(): boolean {
    return workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (input.options.historyLimit ?? HISTORY_LIMIT);
  }

  async function continueAsNewNow(task: string): Promise<never> {
    pauseClock();
    await condition(allHandlersFinished);
    const state: AgentCarriedState = {
      transcript: compactTranscript(transcript),
      // Decided approvals are in the approvals table and the ledger; pending ones must survive.
      approvals: [...approvals.filter((a) => a.status !== 'pending').slice(-20), ...pending()],
      answers: answers.slice(-20),
      used: { ...used },
      budgets,
      usage,
      nextApprovalNumber,
      events: events.slice(-200),
      nextEventSeq,
      conversation: conversation.slice(-20),
      pendingMessages: [...pendingMessages],
      task,
      policy,
    };
    return continueAsNew<typeof runAgent>({ ...input, carried: state });
  }

  // ----- the conversation -----

  async function standalone(text: string): Promise<string> {
    if (conversation.length === 0) return text;
    try {
      const r = await step(
        'rewrite_query',
        () => models.rewriteQuestion({ question: text, conversation, model: opts.model, context: { tenantId: input.tenantId } }),
        (x) => ({ latencyMs: x.latencyMs, model: x.model, usage: x.usage, detail: { resolved: x.resolved, standalone: x.standalone } }),
      );
      recordUsage(r);
      return r.resolved && r.standalone ? r.standalone : text;
    } catch {
      return text; // an aid, not a requirement
    }
  }

  // ----- guardrails -----

  /** The input guard on the user's text (PII masked or refused, injection, scope, handoff). */
  async function guardUser(text: string, earlier?: ConversationTurn[]) {
    const g = await step(
      'input_guard',
      () =>
        models.guardInput({
          tenantId: input.tenantId,
          vaultTaskId,
          text,
          conversation: earlier,
          userTurns: conversation.filter((t) => t.role === 'user').length + 1,
          policy,
        }),
      (r) => ({ latencyMs: r.latencyMs, usage: r.usage, detail: { action: r.action, reason: r.reason, policyVersion: r.policy.version, checks: r.checks } }),
    );
    policy = g.policy;
    recordUsage(g);
    return g;
  }

  type GuardedTurn = TurnOutcome & { guardrails?: GuardrailOutcome };

  /** A turn no model answers: a refused input gets the stock response, a handoff a person's answer. */
  async function answerWithoutModel(g: Awaited<ReturnType<typeof guardUser>>): Promise<GuardedTurn> {
    const p = g.policy;
    const base = { policyVersion: p.version, failures: [], unsupported: [] };
    if (g.action === 'refuse') return { answer: g.response!, endReason: 'refused', model: 'none', guardrails: { ...base, verdict: 'refused', reason: g.reason, remedies: [] } };
    const timeoutMs = p.policy.failure.reviewTimeoutSeconds * 1000;
    const decision = await review.await(
      { reason: `handoff: ${g.reason}`, failures: [], requestedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + timeoutMs).toISOString() },
      untilDeadline(timeoutMs),
    );
    steps.record({ name: 'review', status: 'completed', detail: { decision: decision?.decision ?? 'expired', by: decision?.reviewer.keyId } });
    return {
      answer: decision?.answer?.trim() || p.policy.failure.stockResponse,
      endReason: 'answered',
      model: 'none',
      guardrails: { ...base, verdict: decision ? 'reviewed' : 'stock_response', reason: g.reason, remedies: ['handoff'] },
    };
  }

  /** The output guard on an answer, against the evidence gathered for it. */
  function checkAnswer(answer: string, task: string): Promise<Checked> {
    return step(
      'output_guard',
      () =>
        models.guardOutput({
          tenantId: input.tenantId,
          vaultTaskId,
          answer,
          question: task,
          passages: evidence.filter((e) => e.type !== 'user_message').map((e) => e.excerpt),
          format: 'text',
          // An agent's answer draws on rows and actions as much as on text: unsupported
          // sentences are reported, not failed (lexical grounding cannot judge a SQL row).
          grounding: 'report',
          policy: policy!,
        }),
      (o) => ({ latencyMs: o.latencyMs, usage: o.usage, detail: { passed: o.passed, failures: o.failures, checks: o.checks } }),
    );
  }

  /** A turn's answer through the output checks and, when they fail, the tenant's failure policy. */
  async function guardedTurn(task: string, first: TurnOutcome): Promise<GuardedTurn> {
    // Stops (budget, deadline, malformed calls) are Gatehouse's own words, not the model's.
    if (first.endReason !== 'answered' || !policy) return first;
    const p = policy;
    const settled = await settleAnswer({
      policy: p.policy,
      first,
      firstChecked: await checkAnswer(first.answer, task),
      check: (c) => checkAnswer(c.answer, task),
      regenerate: async ({ feedback, model }) => {
        transcript.push({ role: 'user', content: `Your previous answer was not accepted.\n${feedback}\nAnswer again.` });
        return runTurn(task, undefined, model ?? opts.model);
      },
      review,
      record: (r) => steps.record(r),
    });
    return { answer: settled.text, endReason: settled.candidate?.endReason ?? 'answered', model: settled.candidate?.model ?? first.model, guardrails: { policyVersion: p.version, ...settled.outcome } };
  }

  /** Release an answer on the event stream: sentence by sentence (it passed its checks), then whole. */
  function announce(outcome: GuardedTurn): void {
    for (const sentence of outcome.answer.split(/(?<=[.!?])\s+/)) if (sentence.trim()) emit('answer_delta', { text: sentence });
    emit('final_answer', { answer: outcome.answer, endReason: outcome.endReason, guardrails: outcome.guardrails?.verdict });
  }

  let endReason: AgentEndReason;
  let finalAnswer: string;
  try {
    let task: string;
    let pendingGuard: Awaited<ReturnType<typeof guardUser>> | undefined;
    if (carried) {
      task = carried.task;
    } else {
      // Nothing the user wrote reaches a model (or this run's state) before the input guard.
      const g = await guardUser(input.input, input.conversation);
      conversation.splice(0, conversation.length, ...g.conversation);
      for (const turn of g.conversation) transcript.push({ role: turn.role, content: turn.content });
      transcript.push({ role: 'user', content: g.action === 'proceed' ? g.text : '(withheld by the input guard)' });
      task = g.action === 'proceed' ? await standalone(g.text) : g.text;
      conversation.push({ role: 'user', content: task });
      if (g.action !== 'proceed') pendingGuard = g;
    }
    evidence.push({ type: 'user_message', excerpt: task.slice(0, 2000) });
    setPhase('working');
    let firstTurn = !carried;
    for (;;) {
      const outcome: GuardedTurn = pendingGuard
        ? await answerWithoutModel(pendingGuard)
        : await guardedTurn(task, firstTurn && opts.mode === 'plan' ? await runPlan(task) : await runTurn(task));
      pendingGuard = undefined;
      firstTurn = false;
      lastGuardrails = outcome.guardrails;
      answers.push(outcome.answer);
      conversation.push({ role: 'assistant', content: outcome.answer });
      finalAnswer = outcome.answer;
      endReason = outcome.endReason;
      lastModel = outcome.model;
      announce(outcome);
      // A refused message ends the turn, not the conversation.
      if (outcome.endReason !== 'answered' && outcome.endReason !== 'refused') break;

      if (pendingMessages.length === 0 && opts.keepOpenSeconds > 0) {
        pauseClock();
        setPhase('awaiting_input');
        await condition(() => pendingMessages.length > 0, untilDeadline(opts.keepOpenSeconds * 1000));
      }
      if (pendingMessages.length === 0) break;
      const g = await guardUser(pendingMessages.shift()!);
      transcript.push({ role: 'user', content: g.action === 'proceed' ? g.text : '(withheld by the input guard)' });
      resumeClock();
      setPhase('working');
      if (g.action !== 'proceed') {
        pendingGuard = g;
        continue;
      }
      task = await standalone(g.text);
      // The standalone form, so the next follow-up resolves against what was really asked.
      conversation.push({ role: 'user', content: task });
      evidence = [{ type: 'user_message', excerpt: task.slice(0, 2000) }];
      if (shouldContinueAsNew()) await continueAsNewNow(task);
    }
  } catch (err) {
    if (isCancellation(err)) {
      // Leave no approval looking decidable after the task is gone.
      await CancellationScope.nonCancellable(async () => {
        finished = true;
        for (const a of pending()) {
          a.status = 'rejected';
          a.reason = 'task canceled';
          await bookkeeping.indexApproval({ tenantId: input.tenantId, taskId, approval: a });
        }
        emit('task_finished', { endReason: 'canceled' });
        setPhase('done');
      });
    }
    throw err;
  }

  finished = true;
  pauseClock();
  emit('task_finished', { endReason });
  setPhase('done');
  await condition(allHandlersFinished);
  return {
    answer: finalAnswer,
    guardrails: lastGuardrails,
    endReason,
    model: lastModel,
    usage,
    used: { ...used, wallSeconds: Math.round(used.wallSeconds * 10) / 10 },
    steps: steps.steps,
    actions: approvals.map((a) => ({ approvalId: a.approvalId, tool: a.tool, status: a.status, result: a.result })),
  };
}

/**
 * Earlier turns shrink to what a follow-up needs — the user's messages and the agent's
 * answers; the current turn (from the latest user message on) is kept whole, tool calls and all.
 */
function compactTranscript(transcript: ChatMessage[]): ChatMessage[] {
  const currentTurn = transcript.map((m) => m.role).lastIndexOf('user');
  const earlier = transcript
    .slice(0, Math.max(0, currentTurn))
    .filter((m): m is Extract<ChatMessage, { role: 'user' | 'assistant' }> => (m.role === 'user' || m.role === 'assistant') && !(m.role === 'assistant' && m.toolCalls?.length))
    .slice(-20)
    .map((m) => ({ role: m.role, content: m.content.slice(0, 4000) }));
  return [...earlier, ...transcript.slice(Math.max(0, currentTurn))];
}

/** The one-line summary and tool calls of a step's detail, for the event stream. */
function pickSummary(detail: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!detail) return {};
  const out: Record<string, unknown> = {};
  if (typeof detail.summary === 'string') out.summary = detail.summary;
  if (Array.isArray(detail.calls)) out.calls = (detail.calls as Array<{ tool: string }>).map((c) => c.tool);
  return out;
}

function sanitizeBudgets(proposed: Partial<AgentBudgets> | undefined, current: AgentBudgets): AgentBudgets {
  const pick = (k: keyof AgentBudgets) => {
    const v = Number(proposed?.[k]);
    return Number.isFinite(v) && v > 0 ? Math.max(v, current[k]) : current[k];
  };
  return { maxSteps: pick('maxSteps'), maxTokens: pick('maxTokens'), maxCostUsd: pick('maxCostUsd'), maxToolCalls: pick('maxToolCalls'), maxWallSeconds: pick('maxWallSeconds') };
}
