// A task's budgets: steps, tokens, cost, tool calls and work time. Reaching one does not fail
// the task: it pauses with an "extend budget?" approval at the approval desk, and goes on
// only if the owner extends it.
import type { Usage } from '../../activities/gateway/types.js';
import { EXTEND_BUDGET } from '../../contracts/approvals.js';
import type { AgentBudgets, AgentEndReason, AgentResult, BudgetUsage } from '../messages.js';
import { addUsage } from '../policy/usage.js';
import type { ApprovalDesk } from './approval-desk.js';
import type { EventStream } from './events.js';
import type { PhaseTracker } from './phase.js';
import type { AgentState } from './state.js';
import type { WorkClock } from './work-clock.js';

export type BudgetReason = Extract<AgentEndReason, `${string}_budget`>;

/** Each budget's limit and what it counts, in the order they are checked. */
const LIMITS = {
  step_budget: { limit: 'maxSteps', counts: 'steps' },
  token_budget: { limit: 'maxTokens', counts: 'tokens' },
  cost_budget: { limit: 'maxCostUsd', counts: 'costUsd' },
  tool_call_budget: { limit: 'maxToolCalls', counts: 'toolCalls' },
  wall_time_budget: { limit: 'maxWallSeconds', counts: 'wallSeconds' },
} as const satisfies Record<BudgetReason, { limit: keyof AgentBudgets; counts: keyof BudgetUsage }>;

const REASONS = Object.keys(LIMITS) as BudgetReason[];

/** The first budget `used` has reached, if any. */
export function reachedBudget(budgets: AgentBudgets, used: BudgetUsage): BudgetReason | undefined {
  return REASONS.find((r) => used[LIMITS[r].counts] >= budgets[LIMITS[r].limit]);
}

/** What the owner is asked for: the reached budget doubled, the others as they are. */
export function extensionFor(reason: BudgetReason, budgets: AgentBudgets): AgentBudgets {
  return mapBudgets((k) => (k === LIMITS[reason].limit ? budgets[k] * 2 : budgets[k]));
}

/**
 * The budgets an approved extension sets. Its arguments may have been edited by the approver:
 * a value that is not a positive number keeps the current budget, and no budget shrinks.
 */
export function extendedBudgets(proposed: Partial<AgentBudgets> | undefined, current: AgentBudgets): AgentBudgets {
  return mapBudgets((k) => {
    const v = Number(proposed?.[k]);
    return Number.isFinite(v) && v > 0 ? Math.max(v, current[k]) : current[k];
  });
}

function mapBudgets(value: (k: keyof AgentBudgets) => number): AgentBudgets {
  return {
    maxSteps: value('maxSteps'),
    maxTokens: value('maxTokens'),
    maxCostUsd: value('maxCostUsd'),
    maxToolCalls: value('maxToolCalls'),
    maxWallSeconds: value('maxWallSeconds'),
  };
}

export interface BudgetsDeps {
  state: Pick<AgentState, 'budgets' | 'used' | 'usage'>;
  clock: Pick<WorkClock, 'pause' | 'wallSeconds'>;
  desk: Pick<ApprovalDesk, 'propose' | 'awaitDecision' | 'publish'>;
  events: Pick<EventStream, 'emit'>;
  phase: Pick<PhaseTracker, 'settle'>;
}

export class Budgets {
  constructor(private readonly deps: BudgetsDeps) {}

  /** What the task has used so far, work time included (rounded to a tenth for display). */
  used(): BudgetUsage {
    return { ...this.deps.state.used, wallSeconds: Math.round(this.deps.clock.wallSeconds() * 10) / 10 };
  }

  reached(): BudgetReason | undefined {
    return reachedBudget(this.deps.state.budgets, { ...this.deps.state.used, wallSeconds: this.deps.clock.wallSeconds() });
  }

  countStep(): void {
    this.deps.state.used.steps += 1;
  }

  countToolCalls(n: number): void {
    this.deps.state.used.toolCalls += n;
  }

  /** A model call's tokens and cost. */
  recordUsage(usage: Usage): void {
    const { state } = this.deps;
    state.usage = addUsage(state.usage, usage);
    state.used.tokens += usage.inputTokens + usage.outputTokens;
    state.used.costUsd = roundCost(state.used.costUsd + usage.costUsd);
  }

  /** What a plan's sub-task spent: its calls count against this task's budgets (its steps are its own). */
  recordChild(child: Pick<AgentResult, 'usage' | 'used'>): void {
    const { state } = this.deps;
    state.usage = addUsage(state.usage, child.usage);
    state.used.tokens += child.used.tokens;
    state.used.costUsd = roundCost(state.used.costUsd + child.used.costUsd);
    state.used.toolCalls += child.used.toolCalls;
  }

  /**
   * Stop the work clock and ask the owner to extend the reached budget; true if they did.
   *
   * Replay: the owner's Update completes in the workflow task that schedules the turn's next
   * decideNextStep, and which of the two comes first depends on how many awaits lie between
   * the extension's last indexApproval and that call (runAgent-budget.json pins it; two more
   * fail its replay). Keep the await depth of extend → askToExtend → desk.publish as it is.
   */
  async extend(reason: BudgetReason): Promise<boolean> {
    this.deps.events.emit('step_finished', { step: 'budget', reached: reason });
    this.deps.clock.pause();
    const extended = await this.askToExtend(reason);
    this.deps.phase.settle();
    return extended;
  }

  private async askToExtend(reason: BudgetReason): Promise<boolean> {
    const { state, clock, desk } = this.deps;
    const args = { reason, budgets: extensionFor(reason, state.budgets), used: { ...state.used, wallSeconds: Math.round(clock.wallSeconds()) } };
    const proposal = await desk.propose(EXTEND_BUDGET, args, `The task reached its ${reason.replace('_', ' ')}.`);
    if (!proposal.ok) return false;
    // Unlike a write, an extension nobody decides on simply expires: no escalation.
    const waited = await desk.awaitDecision(proposal.approval, { escalate: false, explainDeadline: false });
    if (!waited.decided || waited.approval.status !== 'approved') return false;
    const approval = waited.approval;
    approval.status = 'executed';
    approval.result = { budgets: (approval.arguments as { budgets: AgentBudgets }).budgets };
    await desk.publish(approval, 'approval_decided', { decision: 'executed' });
    state.budgets = extendedBudgets((approval.arguments as { budgets?: Partial<AgentBudgets> }).budgets, state.budgets);
    return true;
  }
}

function roundCost(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}
