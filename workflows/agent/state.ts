// What a run of runAgent knows, declared once. The part a long task carries across
// continue-as-new is AgentCarriedState (messages.ts: the task input declares it); each run adds
// what it rebuilds as it goes. restoreState and carriedState are the two directions.
import type { ChatMessage } from '../../activities/gateway/types.js';
import type { ProvenanceItem } from '../../activities/tools/types.js';
import type { AgentCarriedState, AgentResult, AgentTaskInput, PendingApproval, PlanItem } from '../messages.js';
import { NO_USAGE } from '../policy/usage.js';

/** runAgent's signature, for continue-as-new and child workflows without importing runAgent. */
export type AgentWorkflow = (input: AgentTaskInput) => Promise<AgentResult>;

/** Who the task is, for every activity it calls. */
export interface TaskContext {
  tenantId: string;
  collection: string;
  /** The workflow id. */
  taskId: string;
  /** The task whose PII vault holds the placeholders: a plan's sub-tasks share their parent's. */
  vaultTaskId: string;
  /** A what-if fork: the task it was forked from. */
  forkOf?: string;
}

export interface AgentState extends Omit<AgentCarriedState, 'transcript' | 'task'> {
  /** The model's view of the task: messages, tool calls and their results. */
  transcript: ChatMessage[];
  // Not carried: every run starts these afresh.
  /** What the current request's answer and proposals may cite: the user's words, chunks, rows, tool outputs. */
  evidence: ProvenanceItem[];
  /** Plan mode's sub-tasks. */
  plan: PlanItem[];
  /** Set while the agent waits for the user's reply (ask_user). */
  question?: string;
  /** Set once the task has ended: no message is accepted after that. */
  finished: boolean;
  /** The model of the latest decision, for a turn that stops before making one. */
  lastModel: string;
}

export function taskContext(input: AgentTaskInput, taskId: string): TaskContext {
  return { tenantId: input.tenantId, collection: input.collection, taskId, vaultTaskId: input.parent?.taskId ?? taskId, ...(input.fork ? { forkOf: input.fork.of } : {}) };
}

/** A new task's state, or the one the previous run carried over. */
export function restoreState(input: AgentTaskInput): AgentState {
  const carried = input.carried;
  return {
    transcript: (carried?.transcript as ChatMessage[] | undefined) ?? [],
    approvals: carried?.approvals ?? [],
    nextApprovalNumber: carried?.nextApprovalNumber ?? 1,
    events: carried?.events ?? [],
    nextEventSeq: carried?.nextEventSeq ?? 1,
    answers: carried?.answers ?? [],
    conversation: carried?.conversation ?? [...input.conversation],
    pendingMessages: carried?.pendingMessages ?? [],
    budgets: carried?.budgets ?? input.options.budgets,
    used: carried?.used ?? { steps: 0, tokens: 0, costUsd: 0, toolCalls: 0, wallSeconds: 0 },
    usage: carried?.usage ?? NO_USAGE,
    // Fetched by the first input guard and kept for the whole task.
    policy: carried?.policy,
    route: carried?.route,
    evidence: [],
    plan: [],
    finished: false,
    lastModel: 'none',
  };
}

/** The compact state the next run starts from, working on `task`. */
export function carriedState(state: AgentState, task: string): AgentCarriedState {
  return {
    transcript: compactTranscript(state.transcript),
    // Decided approvals are in the approvals table and the ledger; pending ones must survive.
    approvals: [...state.approvals.filter((a) => a.status !== 'pending').slice(-20), ...pendingApprovals(state)],
    answers: state.answers.slice(-20),
    used: { ...state.used },
    budgets: state.budgets,
    usage: state.usage,
    nextApprovalNumber: state.nextApprovalNumber,
    events: state.events.slice(-200),
    nextEventSeq: state.nextEventSeq,
    conversation: state.conversation.slice(-20),
    pendingMessages: [...state.pendingMessages],
    task,
    policy: state.policy,
    route: state.route,
  };
}

export function pendingApprovals(state: Pick<AgentState, 'approvals'>): PendingApproval[] {
  return state.approvals.filter((a) => a.status === 'pending');
}

/**
 * Earlier turns shrink to what a follow-up needs — the user's messages and the agent's
 * answers; the current turn (from the latest user message on) is kept whole, tool calls and all.
 */
export function compactTranscript(transcript: ChatMessage[]): ChatMessage[] {
  const currentTurn = transcript.map((m) => m.role).lastIndexOf('user');
  const earlier = transcript
    .slice(0, Math.max(0, currentTurn))
    .filter((m): m is Extract<ChatMessage, { role: 'user' | 'assistant' }> => (m.role === 'user' || m.role === 'assistant') && !(m.role === 'assistant' && m.toolCalls?.length))
    .slice(-20)
    .map((m) => ({ role: m.role, content: m.content.slice(0, 4000) }));
  return [...earlier, ...transcript.slice(Math.max(0, currentTurn))];
}
