// Task types and the messages (queries now; signals and updates later) that the API and the
// Temporal UI exchange with running workflows.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Citation } from '../activities/answering.js';
import type { Usage } from '../activities/gateway/types.js';
import type { IngestionSummary } from '../activities/index.js';
import type { RetrievalMode } from '../activities/retrieval/types.js';
import type { FailureAction, GuardCheck, OutputCheck } from '../activities/guardrails/types.js';
import type { TaskPolicy } from '../activities/index.js';

export type { Citation, Usage };

export interface ConversationTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface AnswerOptions {
  mode: RetrievalMode;
  topK: number;
  candidates: number;
  rrfK: number;
  efSearch: number;
  rerank?: 'similarity' | 'fused';
  model?: string;
  filter?: Record<string, unknown>;
}

export interface AnswerTaskInput {
  tenantId: string;
  collection: string;
  question: string;
  conversation: ConversationTurn[];
  options: AnswerOptions;
}

export type StepStatus = 'running' | 'completed' | 'failed' | 'skipped';

/** One step of a task as the status query and the API show it. */
export interface StepRecord {
  name: string;
  status: StepStatus;
  /** Workflow time (deterministic), ISO 8601. */
  startedAt: string;
  /** Time the step's own work took, measured where it ran. */
  latencyMs?: number;
  model?: string;
  usage?: Usage;
  detail?: Record<string, unknown>;
  error?: string;
}

/** What the guardrails decided about a task's answer. */
export interface GuardrailOutcome {
  policyVersion: number;
  /**
   * passed: every check passed; flagged: let through with findings (e.g. unsupported sentences);
   * refused: the input was refused (stock response, no model call); remedied: a failure policy
   * produced an answer that passed; reviewed: a human approved or edited it; stock_response:
   * the failure policy gave up with the stock response.
   */
  verdict: 'passed' | 'flagged' | 'refused' | 'remedied' | 'reviewed' | 'stock_response';
  reason?: string;
  /** The failure policies applied, in order. */
  remedies: FailureAction[];
  /** Checks that failed on the way (the final answer passed them, or was flagged, reviewed or refused). */
  failures: OutputCheck[];
  /** Answer sentences the retrieved context does not support. */
  unsupported: string[];
}

/** An answer waiting for a reviewer (handoff). */
export interface PendingReview {
  reason: string;
  /** The answer that failed its checks (masked), if there is one. */
  candidate?: string;
  failures: OutputCheck[];
  requestedAt: string;
  expiresAt: string;
}

export interface ReviewDecision {
  decision: 'approve' | 'edit';
  /** The answer to send instead (decision 'edit'). */
  answer?: string;
  reason?: string;
  reviewer: Approver;
}

export interface ReviewOutcome {
  accepted: true;
  answer: string;
}

/** A reviewer's answer to a task in needs_review: validated before it touches history. */
export const reviewAnswerUpdate = defineUpdate<ReviewOutcome, [ReviewDecision]>('reviewAnswer');

export interface AnswerResult {
  /**
   * The answer. PII the guardrails masked stays as placeholders ([EMAIL_ADDRESS_1]) here and in
   * history; the API restores them for a caller with the pii:read role.
   */
  answer: string;
  guardrails?: GuardrailOutcome;
  citations: Citation[];
  /** The model that wrote the answer ('local' offline; 'none' when nothing was retrieved). */
  model: string;
  usage: Usage;
  steps: StepRecord[];
  question: { original: string; standalone?: string };
  /** False when a follow-up referred to something the conversation does not establish. */
  resolved: boolean;
}

export interface AnswerStatus {
  phase: 'guarding' | 'rewriting' | 'retrieving' | 'generating' | 'checking' | 'needs_review' | 'done';
  steps: StepRecord[];
  usage: Usage;
  review?: PendingReview;
}

export type { GuardCheck };

export const answerStatusQuery = defineQuery<AnswerStatus>('status');

export interface IngestInput {
  ingestionId: string;
  tenantId: string;
  documentCount: number;
  batchSize: number;
  parallelBatches: number;
}

export interface IngestProgress {
  documents: number;
  processed: number;
  indexed: number;
  unchanged: number;
  failed: number;
  chunks: number;
  batches: { total: number; done: number };
  embedMs: number;
}

export type IngestResult = IngestionSummary & { embedMs: number };

export const ingestProgressQuery = defineQuery<IngestProgress>('progress');

// ---------------------------------------------------------------------------------------------
// Agents (runAgent)
// ---------------------------------------------------------------------------------------------

export type AgentMode = 'loop' | 'plan';

/** Per-task limits. Reaching one pauses the task with an "extend budget?" approval. */
export interface AgentBudgets {
  maxSteps: number;
  maxTokens: number;
  maxCostUsd: number;
  maxToolCalls: number;
  /** Time spent working (model and tool calls), not time spent waiting for a human. */
  maxWallSeconds: number;
}

export interface AgentOptions {
  mode: AgentMode;
  /** Tool names the agent may use (default: every registered tool). */
  tools?: string[];
  budgets: AgentBudgets;
  model?: string;
  /** How long an approval waits for a decision. */
  approvalTimeoutSeconds: number;
  /** What happens when it expires: reject the action, or escalate (ask again, admins only). */
  onApprovalExpiry: 'reject' | 'escalate';
  /** After an answer, how long the task stays open for a follow-up message (0: finish at once). */
  keepOpenSeconds: number;
  /** How many malformed tool calls in a row go back to the model before the task gives up. */
  maxMalformedToolCalls: number;
  /** Continue as new beyond this many history events (default 8,000; tests set it low). */
  historyLimit?: number;
  /** When the task stops, waiting included (ISO 8601; the API sets it from `deadlineSeconds`). */
  deadlineAt?: string;
}

export interface AgentTaskInput {
  tenantId: string;
  collection: string;
  input: string;
  conversation: ConversationTurn[];
  options: AgentOptions;
  /** Set when a long conversation continues as new: the compact state of the previous run. */
  carried?: AgentCarriedState;
  /** A child task of a plan: its parent's id and the sub-task it works on. */
  parent?: { taskId: string; subtaskId: string };
}

/** The identity of whoever decides an approval, as the API authenticated it. */
export interface Approver {
  keyId: string;
  /** The person: approvals count people (keyId only for decisions recorded before people). */
  userId?: string;
  tenantId: string;
  roles: string[];
}

/** Who an approver is, for counting approvals: the person, else (older histories) the key. */
export function approverIdentity(a: Approver): string {
  return a.userId ?? a.keyId;
}

/**
 * A decision sent as a Signal (the Temporal UI's form): it carries an approval token the API
 * signed for this task, approval, arguments hash and decision; the worker verifies it.
 */
export interface ApprovalSignal {
  approvalId: string;
  decision: 'approve' | 'reject';
  argumentsHash: string;
  reason?: string;
  token: string;
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'superseded' | 'executed' | 'failed';

export interface PendingApproval {
  approvalId: string;
  tool: string;
  arguments: Record<string, unknown>;
  argumentsHash: string;
  preview: { summary: string; changes: unknown };
  rationale: string;
  provenance: unknown[];
  requestedAt: string;
  expiresAt: string;
  requiredRole: string;
  approvalsNeeded: number;
  approvedBy: string[];
  status: ApprovalStatus;
  reason?: string;
  result?: unknown;
  /** Set when approved with edited arguments: the approval that shows the edit. */
  supersededBy?: string;
  /** Set once an expired approval was escalated (it then needs an admin). */
  escalated?: boolean;
}

export interface ApprovalDecision {
  approvalId: string;
  decision: 'approve' | 'reject';
  /** The hash of the arguments the approver saw; a mismatch means they saw something else. */
  argumentsHash: string;
  reason?: string;
  /** Approve with these arguments instead: re-validated and shown again as a new approval. */
  arguments?: Record<string, unknown>;
  approver: Approver;
}

export interface ApprovalOutcome {
  approvalId: string;
  status: ApprovalStatus | 'awaiting_second_approval';
  /** When edited arguments were approved: the new approval that shows them. */
  newApprovalId?: string;
  result?: unknown;
  error?: string;
}

export type AgentEventType =
  | 'step_started'
  | 'step_finished'
  | 'approval_requested'
  | 'approval_decided'
  | 'approval_signal_refused'
  | 'message_received'
  | 'review_requested'
  | 'answer_delta'
  | 'final_answer'
  | 'task_finished';

export interface AgentEvent {
  seq: number;
  type: AgentEventType;
  at: string;
  data: Record<string, unknown>;
}

export type AgentPhase = 'working' | 'awaiting_approval' | 'awaiting_input' | 'needs_review' | 'done';

export type AgentEndReason =
  | 'answered'
  | 'step_budget'
  | 'token_budget'
  | 'cost_budget'
  | 'tool_call_budget'
  | 'wall_time_budget'
  | 'deadline'
  | 'malformed_tool_calls'
  | 'refused'
  | 'canceled';

export interface BudgetUsage {
  steps: number;
  tokens: number;
  costUsd: number;
  toolCalls: number;
  wallSeconds: number;
}

export interface PlanItem {
  id: string;
  title: string;
  instruction: string;
  dependsOn: string[];
  status: 'pending' | 'running' | 'completed' | 'failed';
  result?: string;
}

export interface AgentStatus {
  phase: AgentPhase;
  mode: AgentMode;
  plan: PlanItem[];
  steps: StepRecord[];
  pendingApprovals: PendingApproval[];
  approvals: PendingApproval[];
  budgets: AgentBudgets;
  used: BudgetUsage;
  usage: Usage;
  answers: string[];
  /** Set while the agent waits for the user (ask_user). */
  question?: string;
  /** Set while an answer waits for a reviewer (handoff). */
  review?: PendingReview;
}

export interface AgentResult {
  /** The last answer; masked PII stays as placeholders (the API restores them for pii:read). */
  answer: string;
  /** What the guardrails decided about the last answer. */
  guardrails?: GuardrailOutcome;
  endReason: AgentEndReason;
  model: string;
  usage: Usage;
  used: BudgetUsage;
  steps: StepRecord[];
  actions: Array<{ approvalId: string; tool: string; status: ApprovalStatus; result?: unknown }>;
}

/** Compact state carried across continue-as-new. */
export interface AgentCarriedState {
  transcript: unknown[];
  approvals: PendingApproval[];
  answers: string[];
  used: BudgetUsage;
  budgets: AgentBudgets;
  usage: Usage;
  nextApprovalNumber: number;
  events: AgentEvent[];
  nextEventSeq: number;
  conversation: ConversationTurn[];
  pendingMessages: string[];
  /** The request being worked on when the run continued as new. */
  task: string;
  /** The guardrail policy the task runs under (fetched once, at its start). */
  policy?: TaskPolicy;
}

export const agentStatusQuery = defineQuery<AgentStatus>('status');
export const agentEventsQuery = defineQuery<AgentEvent[], [number]>('events');
/** The API's way to decide: validated before it touches history, returns the outcome. */
export const decideApprovalUpdate = defineUpdate<ApprovalOutcome, [ApprovalDecision]>('decideApproval');
/**
 * The Temporal UI's way to decide. A Signal carries no caller identity, so it must carry an
 * approval token (ApprovalSignal); one without a valid token is refused and recorded, and the
 * approval stays pending. (Histories from before tokens carried an optional approver.)
 */
export const approvalDecisionSignal = defineSignal<[ApprovalSignal | (Omit<ApprovalDecision, 'approver'> & { approver?: Approver })]>('approvalDecision');
/** A follow-up message from the user (or the answer to ask_user). */
export const sendMessageUpdate = defineUpdate<{ accepted: true; turn: number }, [{ text: string }]>('sendMessage');
