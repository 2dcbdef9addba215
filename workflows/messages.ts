// The messages the API and the Temporal UI exchange with running workflows: queries, the
// decision Update and Signal, the message and review Updates. Their shapes are declared once
// in contracts/; they are re-exported here so workflow code and its callers find a workflow's
// handles and types in one place.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { IngestionSummary, TaskPolicy } from '../activities/index.js';
import type { AgentEvent, AgentStatus, AgentTaskInput as AgentTaskRequest, AgentBudgets, BudgetUsage } from '../contracts/agent.js';
import type { AnswerStatus } from '../contracts/answer.js';
import type { ApprovalDecision, ApprovalOutcome, ApprovalSignal, Approver, PendingApproval } from '../contracts/approvals.js';
import type { IngestProgress } from '../contracts/ingest.js';
import type { ReviewDecision, ReviewOutcome } from '../contracts/review.js';
import type { ConversationTurn, Usage } from '../contracts/task.js';

export type { ConversationTurn, StepRecord, StepStatus, Usage } from '../contracts/task.js';
export type { AnswerOptions, AnswerResult, AnswerStatus, AnswerTaskInput, Citation } from '../contracts/answer.js';
export type { GuardrailOutcome } from '../contracts/guardrails.js';
import type { RouteDecision } from '../contracts/routing.js';
export type { RouteDecision, RouteTarget } from '../contracts/routing.js';
export type { PendingReview, ReviewDecision, ReviewOutcome } from '../contracts/review.js';
export type { IngestInput, IngestProgress } from '../contracts/ingest.js';
export type {
  AgentBudgets,
  AgentEndReason,
  AgentEvent,
  AgentEventType,
  AgentMode,
  AgentOptions,
  AgentPhase,
  AgentResult,
  AgentStatus,
  BudgetUsage,
  PlanItem,
} from '../contracts/agent.js';
export type { ApprovalDecision, ApprovalOutcome, ApprovalSignal, ApprovalStatus, Approver, PendingApproval } from '../contracts/approvals.js';
export { approverIdentity } from '../contracts/approvals.js';
export type { GuardCheck } from '../activities/guardrails/types.js';

/** A reviewer's answer to a task in needs_review: validated before it touches history. */
export const reviewAnswerUpdate = defineUpdate<ReviewOutcome, [ReviewDecision]>('reviewAnswer');

export const answerStatusQuery = defineQuery<AnswerStatus>('status');

export type IngestResult = IngestionSummary & { embedMs: number };

export const ingestProgressQuery = defineQuery<IngestProgress>('progress');

// ---------------------------------------------------------------------------------------------
// Agents (runAgent)
// ---------------------------------------------------------------------------------------------

/** runAgent's input: the task as the API started it, and what a run that continued as new carries. */
export type AgentTaskInput = AgentTaskRequest & {
  /** Set when a long conversation continues as new: the compact state of the previous run. */
  carried?: AgentCarriedState;
};

/** Compact state carried across continue-as-new (the workflow's own, so declared with it). */
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
  /** The route the current request took (the tenant's routing document). */
  route?: RouteDecision;
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
