// Plan mode: planTask splits the task into sub-tasks; each runs as a child runAgent (read-only
// tools, no conversation), in parallel as their dependencies allow; the plan is refined up to
// three rounds; then a final turn of this task, which may propose writes, completes it.
import { isCancellation } from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { Activities } from '../../activities/index.js';
import type { AgentOptions, AgentResult, AgentTaskInput, PlanItem } from '../messages.js';
import { TASK_TYPE_SEARCH_ATTRIBUTE, TENANT_SEARCH_ATTRIBUTE } from '../../contracts/search-attributes.js';
import type { Budgets } from './budgets.js';
import type { AnnouncedSteps, EventStream } from './events.js';
import { gatewayStopAnswer, type GatewayLimitPause } from './gateway-limits.js';
import type { AgentState, TaskContext } from './state.js';
import type { ToolCatalog } from './tool-catalog.js';
import type { AgentTurn, TurnOutcome } from './turn.js';
import { startSummaries, summaries, withSummary } from '../policy/summaries.js';

/** Refinement rounds after the first plan. */
const PLAN_ROUNDS = 3;

/** A sub-task as a child workflow (executeChild of runAgent, passed in). */
export type RunChild = (input: AgentTaskInput, options: { workflowId: string; typedSearchAttributes: SearchAttributePair[]; staticSummary?: string }) => Promise<AgentResult>;

export interface PlanModeDeps {
  task: TaskContext;
  options: AgentOptions;
  state: Pick<AgentState, 'plan' | 'transcript'>;
  models: Pick<Activities, 'planTask'>;
  catalog: Pick<ToolCatalog, 'allowed' | 'readOnly'>;
  turn: Pick<AgentTurn, 'run'>;
  budgets: Pick<Budgets, 'recordUsage' | 'recordChild'>;
  gatewayLimits: Pick<GatewayLimitPause, 'run'>;
  steps: Pick<AnnouncedSteps, 'run'>;
  events: Pick<EventStream, 'emit'>;
  runChild: RunChild;
}

export class PlanMode {
  constructor(private readonly deps: PlanModeDeps) {}

  async run(task: string): Promise<TurnOutcome> {
    const { task: ctx, options, state, models, budgets, steps } = this.deps;
    const allowed = await this.deps.catalog.allowed();
    const planned = await this.deps.gatewayLimits.run(() =>
      steps.run(
        'plan',
        () => withSummary(models.planTask, summaries.plan(0, options.model), { tenantId: ctx.tenantId, taskId: ctx.taskId, task, tools: allowed, model: options.model }),
        (p) => ({ latencyMs: p.latencyMs, model: p.model, usage: p.usage, detail: { subtasks: p.subtasks.length, prompt: p.prompt } }),
      ),
    );
    if (!planned.ok) return { answer: gatewayStopAnswer(planned.refusal), endReason: 'gateway_limit', model: options.model ?? '' };
    const initial = planned.value;
    budgets.recordUsage(initial.usage);
    state.plan = initial.subtasks.map((s) => ({ ...s, status: 'pending' as const }));
    // Sub-tasks research; they do not act: writes are proposed by this task, at its approval gate.
    const readOnly = this.deps.catalog.readOnly(allowed);
    for (let round = 0; round < PLAN_ROUNDS; round++) {
      await this.runReadySubtasks(readOnly);
      const refinedOrRefused = await this.deps.gatewayLimits.run(() => steps.run(
        'refine_plan',
        () =>
          withSummary(models.planTask, summaries.plan(round + 1, options.model), {
            tenantId: ctx.tenantId,
            taskId: ctx.taskId,
            task,
            tools: allowed,
            model: options.model,
            done: state.plan.map((p) => ({ id: p.id, title: p.title, result: p.result ?? `(${p.status})` })),
          }),
        (p) => ({ latencyMs: p.latencyMs, model: p.model, usage: p.usage, detail: { complete: p.complete, added: p.subtasks.length, prompt: p.prompt } }),
      ));
      if (!refinedOrRefused.ok) return { answer: gatewayStopAnswer(refinedOrRefused.refusal), endReason: 'gateway_limit', model: options.model ?? '' };
      const refined = refinedOrRefused.value;
      budgets.recordUsage(refined.usage);
      if (refined.complete || refined.subtasks.length === 0) break;
      const known = new Set(state.plan.map((p) => p.id));
      state.plan.push(...refined.subtasks.filter((s) => !known.has(s.id)).map((s) => ({ ...s, status: 'pending' as const })));
    }
    const results = state.plan.map((p) => ({ title: p.title, result: p.result ?? `(${p.status})` }));
    state.transcript.push({ role: 'user', content: `Results of the sub-tasks:\n${results.map((r) => `- ${r.title}: ${r.result}`).join('\n')}\n\nNow complete the task: ${task}` });
    return this.deps.turn.run(task, results);
  }

  /** Every sub-task whose dependencies are done (or unknown), in parallel, until none is ready. */
  private async runReadySubtasks(readOnly: string[]): Promise<void> {
    const { plan } = this.deps.state;
    for (;;) {
      const done = new Set(plan.filter((p) => p.status === 'completed' || p.status === 'failed').map((p) => p.id));
      const ready = plan.filter((p) => p.status === 'pending' && p.dependsOn.every((d) => done.has(d) || !plan.some((q) => q.id === d)));
      if (ready.length === 0) return;
      await Promise.all(ready.map((item) => this.runSubtask(item, readOnly)));
    }
  }

  private async runSubtask(item: PlanItem, readOnly: string[]): Promise<void> {
    const { task: ctx, options, state, events } = this.deps;
    item.status = 'running';
    events.emit('step_started', { step: 'subtask', id: item.id, title: item.title });
    const context = item.dependsOn.map((d) => state.plan.find((p) => p.id === d)).filter((p) => p?.result).map((p) => `${p!.title}: ${p!.result}`);
    try {
      const child = await this.deps.runChild(
        {
          tenantId: ctx.tenantId,
          collection: ctx.collection,
          input: context.length ? `${item.instruction}\n\nKnown so far:\n${context.join('\n')}` : item.instruction,
          conversation: [],
          options: { ...options, mode: 'loop', tools: readOnly, keepOpenSeconds: 0 },
          parent: { taskId: ctx.taskId, subtaskId: item.id },
        },
        {
          workflowId: `${ctx.taskId}.${item.id}`,
          staticSummary: startSummaries.subtask(ctx.taskId, `plan item ${item.id}`),
          typedSearchAttributes: [
            { key: TENANT_SEARCH_ATTRIBUTE, value: ctx.tenantId },
            { key: TASK_TYPE_SEARCH_ATTRIBUTE, value: 'subtask' },
          ],
        },
      );
      item.status = 'completed';
      item.result = child.answer;
      this.deps.budgets.recordChild(child);
    } catch (err) {
      if (isCancellation(err)) throw err;
      item.status = 'failed';
      item.result = `failed: ${(err as Error).message}`;
    }
    events.emit('step_finished', { step: 'subtask', id: item.id, status: item.status });
  }
}
