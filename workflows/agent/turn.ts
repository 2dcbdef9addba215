// One turn of the agent: decide → act, until the model answers or something stops the turn
// (the deadline, a budget the owner did not extend, too many malformed calls). Reads run at
// once and in parallel, questions go to the user one by one, writes go to the approval desk.
import type { DecidedCall, DecideOutput } from '../../activities/agent/decide.js';
import type { Activities } from '../../activities/index.js';
import type { AgentEndReason, AgentOptions } from '../messages.js';
import { redactSecrets } from '../policy/redact.js';
import { summaries, withSummary, type RunDetails } from '../policy/summaries.js';
import type { ApprovalDesk, ToolResult } from './approval-desk.js';
import type { Budgets } from './budgets.js';
import type { Continuation } from './continue-as-new.js';
import { gatewayStopAnswer, type GatewayLimitPause } from './gateway-limits.js';
import type { Conversation } from './conversation.js';
import type { AnnouncedSteps, EventStream } from './events.js';
import type { PhaseTracker } from './phase.js';
import type { AgentState, TaskContext } from './state.js';
import { isAsk, isRead, isWrite, type ToolCatalog } from './tool-catalog.js';
import type { WorkClock } from './work-clock.js';

export interface TurnOutcome {
  answer: string;
  endReason: AgentEndReason;
  model: string;
}

export type SubtaskResult = { title: string; result: string };

type ValidCall = Extract<DecidedCall, { ok: true }>;

export interface AgentTurnDeps {
  task: TaskContext;
  options: AgentOptions;
  state: AgentState;
  models: Pick<Activities, 'decideNextStep'>;
  tools: Pick<Activities, 'runReadTool'>;
  catalog: Pick<ToolCatalog, 'allowed'>;
  desk: Pick<ApprovalDesk, 'gate'>;
  budgets: Pick<Budgets, 'reached' | 'extend' | 'recordUsage' | 'countStep' | 'countToolCalls'>;
  gatewayLimits: Pick<GatewayLimitPause, 'run'>;
  conversation: Pick<Conversation, 'guard' | 'waitForMessage'>;
  continuation: Pick<Continuation, 'due' | 'now'>;
  clock: Pick<WorkClock, 'pause' | 'pastDeadline'>;
  events: Pick<EventStream, 'emit'>;
  steps: Pick<AnnouncedSteps, 'run'>;
  phase: Pick<PhaseTracker, 'settle'>;
  /** What the Temporal UI shows of the run so far. */
  details?: Pick<RunDetails, 'note'>;
}

export class AgentTurn {
  constructor(private readonly deps: AgentTurnDeps) {}

  async run(task: string, subtaskResults?: SubtaskResult[], model = this.deps.options.model ?? this.deps.state.route?.model): Promise<TurnOutcome> {
    const { options, state, clock, budgets, continuation } = this.deps;
    let malformedInARow = 0;
    // A route to an agent names the tools this request may use, within the task's own.
    const target = state.route?.target;
    const allowed = (await this.deps.catalog.allowed()).filter((t) => target?.kind !== 'agent' || target.tools.includes(t));
    for (;;) {
      if (clock.pastDeadline()) return { answer: `Stopped: the task reached its deadline (${options.deadlineAt}).`, endReason: 'deadline', model: state.lastModel };
      const over = budgets.reached();
      // (How many awaits this takes is part of the recorded histories: see Budgets.extend.)
      if (over && !(await budgets.extend(over))) {
        return { answer: `Stopped: the task reached its ${over.replace(/_/g, ' ')} and it was not extended.`, endReason: over, model: state.lastModel };
      }
      if (continuation.due()) await continuation.now(task);

      const decided = await this.decide(task, allowed, model, subtaskResults);
      if (!decided.ok) {
        return { answer: gatewayStopAnswer(decided.refusal), endReason: 'gateway_limit', model: state.lastModel };
      }
      const decision = decided.value;
      if (decision.calls.length === 0) {
        this.deps.details?.note(`step ${state.used.steps}: answered with ${decision.model}`);
        state.transcript.push({ role: 'assistant', content: decision.content });
        return { answer: decision.content, endReason: 'answered', model: decision.model };
      }
      state.transcript.push({ role: 'assistant', content: decision.content, toolCalls: decision.calls.map((c) => ({ id: c.id, name: c.name, arguments: c.rawArguments })) });

      const valid = decision.calls.filter((c): c is ValidCall => c.ok);
      malformedInARow = valid.length === 0 ? malformedInARow + 1 : 0;
      budgets.countToolCalls(valid.length);
      const results = new Map<string, ToolResult>();
      for (const c of decision.calls) if (!c.ok) results.set(c.id, { ok: false, error: c.error });

      // Reads at once and in parallel; then questions to the user; write gates in parallel,
      // so several proposed actions wait for their approvers side by side.
      const [reads, asks, writes] = [valid.filter(isRead), valid.filter(isAsk), valid.filter(isWrite)];
      this.deps.details?.note(`step ${state.used.steps}: ${decision.calls.map((c) => c.name).join(', ') || 'no tool'}`, reads.length ? 'running tools' : undefined);
      await Promise.all(reads.map(async (c) => results.set(c.id, await this.runTool(c, decision.content))));
      for (const c of asks) results.set(c.id, await this.runTool(c, decision.content));
      await Promise.all(writes.map(async (c) => results.set(c.id, await this.runTool(c, decision.content))));
      this.deps.phase.settle();

      for (const c of decision.calls) state.transcript.push({ role: 'tool', toolCallId: c.id, content: JSON.stringify(results.get(c.id)).slice(0, 12_000) });
      if (malformedInARow > options.maxMalformedToolCalls) {
        return { answer: `Stopped: the model made ${malformedInARow} malformed tool calls in a row.`, endReason: 'malformed_tool_calls', model: decision.model };
      }
    }
  }

  /** The model's next move: an answer, or tool calls checked against the registry; paused while the gateway refuses it for a limit. */
  private async decide(task: string, allowed: string[], model: string | undefined, subtaskResults: SubtaskResult[] | undefined) {
    const { task: ctx, state, budgets } = this.deps;
    const decided = await this.deps.gatewayLimits.run(() => this.deps.steps.run(
      'decide',
      () =>
        withSummary(this.deps.models.decideNextStep, summaries.decide(state.used.steps + 1, model), {
          tenantId: ctx.tenantId,
          taskId: ctx.taskId,
          vaultTaskId: ctx.vaultTaskId,
          policy: state.policy,
          task,
          conversation: state.conversation,
          transcript: state.transcript,
          tools: allowed,
          model,
          subtaskResults,
        }),
      (d) => ({
        latencyMs: d.latencyMs,
        model: d.model,
        usage: d.usage,
        detail: { calls: d.calls.map((c) => ({ tool: c.name, ok: c.ok, arguments: c.ok ? redactSecrets(c.arguments) : undefined, error: c.ok ? undefined : c.error })), prompt: d.prompt },
      }),
    ));
    if (!decided.ok) return decided;
    const decision: DecideOutput = decided.value;
    budgets.countStep();
    state.lastModel = decision.model;
    budgets.recordUsage(decision.usage);
    return decided;
  }

  private async runTool(call: ValidCall, rationale: string): Promise<ToolResult> {
    if (isAsk(call)) return this.askUser(call.name, String(call.arguments.question ?? 'Could you tell me more?'));
    if (isWrite(call)) return this.deps.desk.gate(call.name, call.arguments, rationale);
    const { task, state, options } = this.deps;
    const out = await this.deps.steps.run(
      `tool:${call.name}`,
      () =>
        withSummary(this.deps.tools.runReadTool, summaries.readTool(call.name, state.route?.target.kind === 'retrieval' ? state.route.target.collection : task.collection), {
          tenantId: task.tenantId,
          taskId: task.taskId,
          vaultTaskId: task.vaultTaskId,
          policy: state.policy,
          collection: state.route?.target.kind === 'retrieval' ? state.route.target.collection : task.collection,
          callId: call.id,
          tool: call.name,
          arguments: call.arguments,
          model: options.model,
        }),
      (r) => ({
        latencyMs: r.latencyMs,
        usage: r.ok ? r.usage : undefined,
        model: r.ok ? r.model : undefined,
        // The cache outcome is the activity's: recording it is state, not a command (no patch needed).
        detail: { arguments: redactSecrets(call.arguments), ok: r.ok, summary: r.ok ? r.summary : r.error, guardrails: r.ok ? r.checks : undefined, cache: r.cache },
      }),
    );
    if (!out.ok) return { ok: false, error: out.error };
    if (out.usage) this.deps.budgets.recordUsage(out.usage);
    // The tool's own evidence (chunks, rows); a tool that gives none is cited by its output.
    const own = out.provenance.length ? out.provenance : [{ type: 'tool_output' as const, tool: call.name, callId: call.id, excerpt: JSON.stringify(out.content).slice(0, 2000) }];
    state.evidence = [...state.evidence, ...own].slice(-60);
    return { ok: true, content: out.content };
  }

  /** Ask the user and wait (the work clock stopped) for the reply, which is user input like any other. */
  private async askUser(tool: string, text: string): Promise<ToolResult> {
    const { state, options, clock, events, phase, conversation } = this.deps;
    state.question = text;
    clock.pause();
    events.emit('step_started', { step: tool, question: text });
    phase.settle();
    const answered = await conversation.waitForMessage(options.approvalTimeoutSeconds * 1000);
    state.question = undefined;
    phase.settle();
    if (!answered) return { ok: false, error: 'the user did not answer in time' };
    // Guarded (and masked) before the model reads it.
    const g = await conversation.guard(state.pendingMessages.shift()!);
    if (g.action === 'refuse') return { ok: false, error: `the reply was withheld by the input guard (${g.reason})` };
    const reply = g.text;
    state.conversation.push({ role: 'user', content: reply });
    state.evidence.push({ type: 'user_message', excerpt: reply.slice(0, 2000) });
    events.emit('step_finished', { step: tool, reply: reply.slice(0, 500) });
    return { ok: true, content: { reply } };
  }
}
