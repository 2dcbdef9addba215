// runAgent's contract: what a task asks (its budgets and options), what its status query and
// event stream show, and what it returns.
import { z } from 'zod';
import { approvalStatus, pendingApproval } from './approvals.js';
import { guardrailOutcome } from './guardrails.js';
import { pendingReview } from './review.js';
import { routeDecision } from './routing.js';
import { conversationTurn, forkSeed, stepRecord, usage } from './task.js';

export const agentMode = z.enum(['loop', 'plan']);
export type AgentMode = z.infer<typeof agentMode>;

/**
 * Per-task limits. Reaching one pauses the task with an "extend budget?" approval, and an
 * approver may raise it to any positive number: a running task's budgets are bounded by
 * nothing here. What a request may ask for is the API's to say (api/contracts.ts).
 */
export const agentBudgets = z.object({
  maxSteps: z.number(),
  maxTokens: z.number(),
  maxCostUsd: z.number(),
  maxToolCalls: z.number(),
  /** Time spent working (model and tool calls), not time spent waiting for a human. */
  maxWallSeconds: z.number(),
});
export type AgentBudgets = z.infer<typeof agentBudgets>;

/** What a task has spent of each budget. */
export const budgetUsage = z.object({
  steps: z.number(),
  tokens: z.number(),
  costUsd: z.number(),
  toolCalls: z.number(),
  wallSeconds: z.number(),
});
export type BudgetUsage = z.infer<typeof budgetUsage>;

export const approvalExpiry = z.enum(['reject', 'escalate']);

/** A task's options, the API's defaults filled in. */
export const agentOptions = z.object({
  mode: agentMode,
  /** Tool names the agent may use (default: every registered tool). */
  tools: z.array(z.string()).optional(),
  budgets: agentBudgets,
  model: z.string().optional(),
  /** How long an approval waits for a decision. */
  approvalTimeoutSeconds: z.number(),
  /** What happens when it expires: reject the action, or escalate (ask again, admins only). */
  onApprovalExpiry: approvalExpiry,
  /** After an answer, how long the task stays open for a follow-up message (0: finish at once). */
  keepOpenSeconds: z.number(),
  /** How many malformed tool calls in a row go back to the model before the task gives up. */
  maxMalformedToolCalls: z.number().int(),
  /** Continue as new beyond this many history events (default 8,000; tests set it low). */
  historyLimit: z.number().int().optional(),
  /** When the task stops, waiting included (ISO 8601; the API sets it from `deadlineSeconds`). */
  deadlineAt: z.string().optional(),
  /** Prompt name → the version this task uses, whatever the tenant has in force (contracts/prompts.ts). */
  promptVersions: z.record(z.string(), z.number().int().positive()).optional(),
});
export type AgentOptions = z.infer<typeof agentOptions>;

/** What starts an agent task (a run that continues as new carries its state too: workflows/messages.ts). */
export const agentTaskInput = z.object({
  tenantId: z.string(),
  collection: z.string(),
  input: z.string(),
  conversation: z.array(conversationTurn),
  options: agentOptions,
  /** A child task of a plan: its parent's id and the sub-task it works on. */
  parent: z.object({ taskId: z.string(), subtaskId: z.string() }).optional(),
  /** A what-if fork: the steps before `atStep` are served from the original's record. */
  fork: forkSeed.optional(),
});
export type AgentTaskInput = z.infer<typeof agentTaskInput>;

export const agentEventType = z.enum([
  'step_started',
  'step_finished',
  'approval_requested',
  'approval_decided',
  'approval_signal_refused',
  'message_received',
  'review_requested',
  'answer_delta',
  'final_answer',
  'task_finished',
]);
export type AgentEventType = z.infer<typeof agentEventType>;

export const agentEvent = z.object({
  seq: z.number().int(),
  type: agentEventType,
  at: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type AgentEvent = z.infer<typeof agentEvent>;

export const agentPhase = z.enum(['working', 'awaiting_approval', 'awaiting_input', 'needs_review', 'done']);
export type AgentPhase = z.infer<typeof agentPhase>;

export const agentEndReason = z.enum([
  'answered',
  'step_budget',
  'token_budget',
  'cost_budget',
  'tool_call_budget',
  'wall_time_budget',
  /** A gateway budget (tenant, key, user, task) the owner did not go on past. */
  'gateway_limit',
  'deadline',
  'malformed_tool_calls',
  'refused',
  'canceled',
]);
export type AgentEndReason = z.infer<typeof agentEndReason>;

/** One sub-task of plan mode. */
export const planItem = z.object({
  id: z.string(),
  title: z.string(),
  instruction: z.string(),
  dependsOn: z.array(z.string()),
  status: z.enum(['pending', 'running', 'completed', 'failed']),
  result: z.string().optional(),
});
export type PlanItem = z.infer<typeof planItem>;

/** The status query's answer. */
export const agentStatus = z.object({
  phase: agentPhase,
  mode: agentMode,
  plan: z.array(planItem),
  steps: z.array(stepRecord),
  pendingApprovals: z.array(pendingApproval),
  approvals: z.array(pendingApproval),
  budgets: agentBudgets,
  used: budgetUsage,
  usage,
  answers: z.array(z.string()),
  /** Set while the agent waits for the user (ask_user). */
  question: z.string().optional(),
  /** Set while an answer waits for a reviewer (handoff). */
  review: pendingReview.optional(),
});
export type AgentStatus = z.infer<typeof agentStatus>;

export const agentAction = z.object({ approvalId: z.string(), tool: z.string(), status: approvalStatus, result: z.unknown().optional() });

export const agentResult = z.object({
  /** The last answer; masked PII stays as placeholders (the API restores them for pii:read). */
  answer: z.string(),
  /** What the guardrails decided about the last answer. */
  guardrails: guardrailOutcome.optional(),
  endReason: agentEndReason,
  model: z.string(),
  usage,
  used: budgetUsage,
  steps: z.array(stepRecord),
  actions: z.array(agentAction),
  /** The route the last request took (absent for tasks started before the router). */
  route: routeDecision.optional(),
});
export type AgentResult = z.infer<typeof agentResult>;
