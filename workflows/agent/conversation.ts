// The user's side of a task: the request and its follow-ups (the sendMessage Update), each
// through the input guard before a model or this run's state sees it, and made to stand alone
// against the conversation so far.
import { ApplicationFailure } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { UpdateRefusal } from '../../contracts/refusals.js';
import { sendMessageUpdate, type AgentOptions, type AgentTaskInput, type ConversationTurn } from '../messages.js';
import { summaries, withSummary } from '../policy/summaries.js';
import { guardAndRoute, guardInputStep, routeStep, type GuardedInput } from '../steps/index.js';
import type { Budgets } from './budgets.js';
import type { AnnouncedSteps, EventStream } from './events.js';
import type { PhaseTracker } from './phase.js';
import type { AgentState, TaskContext } from './state.js';
import type { WorkClock } from './work-clock.js';
import type { WorkflowCalls } from './workflow-calls.js';

/** What the user asked, as the agent works on it; `withheld` when the input guard let no model answer. */
export interface UserRequest {
  task: string;
  withheld?: GuardedInput;
}

/** The patch that routes each request (the tenant's routing document); runs recorded before it route nothing. */
export const ROUTER_PATCH = 'router';

/** What the transcript shows for a message the input guard did not let through. */
const WITHHELD = '(withheld by the input guard)';

export interface ConversationDeps {
  task: TaskContext;
  options: Pick<AgentOptions, 'model' | 'keepOpenSeconds'>;
  state: Pick<AgentState, 'conversation' | 'transcript' | 'pendingMessages' | 'answers' | 'evidence' | 'policy' | 'finished' | 'route'>;
  models: Pick<Activities, 'guardInput' | 'rewriteQuestion'>;
  /**
   * The router, as a regular activity (a local one's marker could replay out of order with an
   * Update's events); absent for a sub-task, whose parent routed the request.
   */
  router?: Pick<Activities, 'routeRequest'>;
  steps: Pick<AnnouncedSteps, 'run' | 'record'>;
  budgets: Pick<Budgets, 'recordUsage'>;
  events: Pick<EventStream, 'emit'>;
  clock: Pick<WorkClock, 'pause' | 'resume' | 'untilDeadline'>;
  phase: Pick<PhaseTracker, 'set'>;
  workflow: Pick<WorkflowCalls, 'condition' | 'setHandler' | 'patched'>;
}

export class Conversation {
  constructor(private readonly deps: ConversationDeps) {}

  registerHandlers(): void {
    const { state, events } = this.deps;
    this.deps.workflow.setHandler(
      sendMessageUpdate,
      ({ text }) => {
        state.pendingMessages.push(text);
        // Not the text: it has not been through the input guard yet (PII would reach the event stream).
        events.emit('message_received', { chars: text.length });
        return { accepted: true as const, turn: state.answers.length + state.pendingMessages.length };
      },
      {
        validator: ({ text }) => {
          if (state.finished) throw ApplicationFailure.create({ type: UpdateRefusal.TaskFinished, message: 'the task has finished', nonRetryable: true });
          if (typeof text !== 'string' || !text.trim() || text.length > 10_000) {
            throw ApplicationFailure.create({ type: UpdateRefusal.InvalidArguments, message: 'text must be 1 to 10,000 characters', nonRetryable: true });
          }
        },
      },
    );
  }

  /** The input guard on the user's text (PII masked or refused, injection, scope, handoff). */
  async guard(text: string, earlier?: ConversationTurn[]): Promise<GuardedInput> {
    const { task, state } = this.deps;
    const g = await guardInputStep(this.deps.steps, this.deps.models, {
      tenantId: task.tenantId,
      vaultTaskId: task.vaultTaskId,
      text,
      conversation: earlier,
      userTurns: state.conversation.filter((t) => t.role === 'user').length + 1,
      policy: state.policy,
    });
    state.policy = g.policy;
    this.deps.budgets.recordUsage(g.usage);
    return g;
  }

  /** Until a message arrives, or `ms` (cut short by the deadline) pass: true if one did. */
  waitForMessage(ms: number): Promise<boolean> {
    const { state, clock, workflow } = this.deps;
    return workflow.condition(() => state.pendingMessages.length > 0, clock.untilDeadline(ms));
  }

  /**
   * The task's first message: nothing the user wrote reaches a model (or this run's state) before
   * the input guard. A message that stands alone is routed beside the guard; one that follows a
   * conversation, once it has been made to stand alone.
   */
  async open(input: Pick<AgentTaskInput, 'input' | 'conversation'>): Promise<UserRequest> {
    const { state, task: ctx } = this.deps;
    const routing = this.routes();
    let g: GuardedInput;
    if (routing && input.conversation.length === 0) {
      const routed = await guardAndRoute(this.deps.steps, this.deps.router!, () => this.guard(input.input, input.conversation), { tenantId: ctx.tenantId, taskId: ctx.taskId, text: input.input });
      g = routed.guarded;
      state.route = routed.route;
    } else {
      g = await this.guard(input.input, input.conversation);
    }
    state.conversation.splice(0, state.conversation.length, ...g.conversation);
    for (const turn of g.conversation) state.transcript.push({ role: turn.role, content: turn.content });
    state.transcript.push({ role: 'user', content: g.action === 'proceed' ? g.text : WITHHELD });
    const task = g.action === 'proceed' ? await this.standalone(g.text) : g.text;
    state.conversation.push({ role: 'user', content: task });
    if (g.action !== 'proceed') return { task, withheld: g };
    if (routing && input.conversation.length > 0) await this.route(task);
    return { task };
  }

  private routes(): boolean {
    return this.deps.router !== undefined && this.deps.workflow.patched(ROUTER_PATCH);
  }

  /** The route a request takes, on its masked, standalone text; kept in the state for the turn. */
  private async route(task: string): Promise<void> {
    const { task: ctx, state } = this.deps;
    const r = await routeStep(this.deps.steps, this.deps.router!, { tenantId: ctx.tenantId, taskId: ctx.taskId, text: task, masked: true });
    state.route = r.decided ? r.decision : undefined;
  }

  /**
   * After an answer: the next message, waiting for one up to keepOpenSeconds; undefined when
   * the conversation is over. A withheld message leaves the request (`current`) as it was.
   */
  async awaitFollowUp(current: string): Promise<UserRequest | undefined> {
    const { state, options, clock, phase } = this.deps;
    if (state.pendingMessages.length === 0 && options.keepOpenSeconds > 0) {
      clock.pause();
      phase.set('awaiting_input');
      await this.waitForMessage(options.keepOpenSeconds * 1000);
    }
    if (state.pendingMessages.length === 0) return undefined;
    const g = await this.guard(state.pendingMessages.shift()!);
    state.transcript.push({ role: 'user', content: g.action === 'proceed' ? g.text : WITHHELD });
    clock.resume();
    phase.set('working');
    if (g.action !== 'proceed') return { task: current, withheld: g };
    const task = await this.standalone(g.text);
    // The standalone form, so the next follow-up resolves against what was really asked.
    state.conversation.push({ role: 'user', content: task });
    if (this.routes()) await this.route(task);
    return { task };
  }

  /** A new request's evidence starts from the user's own words. */
  beginRequest(task: string): void {
    this.deps.state.evidence = [{ type: 'user_message', excerpt: task.slice(0, 2000) }];
  }

  /** A follow-up rewritten to stand alone ("and the second one?"), when there is a conversation to resolve it against. */
  private async standalone(text: string): Promise<string> {
    const { task, state, options } = this.deps;
    if (state.conversation.length === 0) return text;
    try {
      const r = await this.deps.steps.run(
        'rewrite_query',
        () => withSummary(this.deps.models.rewriteQuestion, summaries.rewrite(options.model), { question: text, conversation: state.conversation, model: options.model, context: { tenantId: task.tenantId, taskId: task.taskId } }),
        (x) => ({ latencyMs: x.latencyMs, model: x.model, usage: x.usage, detail: { resolved: x.resolved, standalone: x.standalone } }),
      );
      this.deps.budgets.recordUsage(r.usage);
      return r.resolved && r.standalone ? r.standalone : text;
    } catch {
      return text; // an aid, not a requirement
    }
  }
}
