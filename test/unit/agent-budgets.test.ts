// runAgent's budgets and its work clock, without a Temporal server: which budget a task has
// reached, what an extension asks for and what an approved (or edited) one sets, work time
// that stops while people decide, the deadline that cuts every wait short, and the "extend
// budget?" approval through the real approval desk (test/support/agent-rooms.ts).
import { describe, expect, it } from 'vitest';
import { Budgets, extendedBudgets, extensionFor, reachedBudget } from '../../workflows/agent/budgets.js';
import { WorkClock } from '../../workflows/agent/work-clock.js';
import type { AgentBudgets, BudgetUsage } from '../../workflows/messages.js';
import { approver, deskHarness, OPTIONS } from '../support/agent-rooms.js';

const BUDGETS: AgentBudgets = OPTIONS.budgets;
const NONE: BudgetUsage = { steps: 0, tokens: 0, costUsd: 0, toolCalls: 0, wallSeconds: 0 };

describe('reachedBudget', () => {
  it('names the budget a task has reached, at the limit and not before', () => {
    expect(reachedBudget(BUDGETS, NONE)).toBeUndefined();
    expect(reachedBudget(BUDGETS, { ...NONE, steps: 9 })).toBeUndefined();
    expect(reachedBudget(BUDGETS, { ...NONE, steps: 10 })).toBe('step_budget');
    expect(reachedBudget(BUDGETS, { ...NONE, tokens: 10_000 })).toBe('token_budget');
    expect(reachedBudget(BUDGETS, { ...NONE, costUsd: 1 })).toBe('cost_budget');
    expect(reachedBudget(BUDGETS, { ...NONE, toolCalls: 20 })).toBe('tool_call_budget');
    expect(reachedBudget(BUDGETS, { ...NONE, wallSeconds: 600 })).toBe('wall_time_budget');
  });

  it('checks steps, tokens, cost, tool calls, then work time', () => {
    expect(reachedBudget(BUDGETS, { steps: 10, tokens: 10_000, costUsd: 1, toolCalls: 20, wallSeconds: 600 })).toBe('step_budget');
    expect(reachedBudget(BUDGETS, { ...NONE, costUsd: 2, wallSeconds: 900 })).toBe('cost_budget');
  });
});

describe('extensions', () => {
  it('asks for the reached budget doubled and leaves the others as they are', () => {
    expect(extensionFor('token_budget', BUDGETS)).toEqual({ ...BUDGETS, maxTokens: 20_000 });
    expect(extensionFor('wall_time_budget', BUDGETS)).toEqual({ ...BUDGETS, maxWallSeconds: 1200 });
  });

  it('sets what an approver approved, edits included, but never less than before and never nonsense', () => {
    expect(extendedBudgets({ ...BUDGETS, maxSteps: 15 }, BUDGETS)).toEqual({ ...BUDGETS, maxSteps: 15 });
    expect(extendedBudgets({ maxSteps: 5, maxTokens: 0, maxCostUsd: -1 }, BUDGETS)).toEqual(BUDGETS);
    expect(extendedBudgets({ maxSteps: 'lots' as unknown as number, maxToolCalls: Number.NaN, maxWallSeconds: Infinity }, BUDGETS)).toEqual(BUDGETS);
    expect(extendedBudgets({ maxCostUsd: '2.5' as unknown as number }, BUDGETS)).toEqual({ ...BUDGETS, maxCostUsd: 2.5 });
    expect(extendedBudgets(undefined, BUDGETS)).toEqual(BUDGETS);
  });
});

describe('the work clock', () => {
  function clockAt(deadlineAt?: string) {
    let now = Date.parse('2026-03-02T09:00:00.000Z');
    const used = { wallSeconds: 0 };
    const clock = new WorkClock(used, { deadlineAt }, () => now);
    return { clock, used, pass: (seconds: number) => (now += seconds * 1000) };
  }

  it('counts work, not waiting for people', () => {
    const { clock, used, pass } = clockAt();
    pass(30);
    expect(clock.wallSeconds()).toBe(30);
    clock.pause();
    expect(used.wallSeconds).toBe(30);
    pass(3600); // an approver takes an hour
    clock.pause(); // pausing twice counts nothing twice
    expect(clock.wallSeconds()).toBe(30);
    clock.resume();
    pass(5);
    clock.resume(); // resuming while working does not restart the stretch
    pass(5);
    expect(clock.wallSeconds()).toBe(40);
  });

  it('carries the work time of earlier runs (continue-as-new)', () => {
    let now = 0;
    const clock = new WorkClock({ wallSeconds: 42 }, {}, () => now);
    now += 8000;
    expect(clock.wallSeconds()).toBe(50);
  });

  it('cuts every wait short at the deadline, and never asks for a wait of 0', () => {
    const { clock, pass } = clockAt('2026-03-02T09:01:00.000Z');
    expect(clock.untilDeadline(10_000)).toBe(10_000);
    expect(clock.untilDeadline(3_600_000)).toBe(60_000);
    expect(clock.pastDeadline()).toBe(false);
    pass(60);
    expect(clock.pastDeadline()).toBe(true);
    // condition(fn, 0) would mean "no timeout" to runs recorded before SDK 1.5.
    expect(clock.untilDeadline(3_600_000)).toBe(1);
    expect(clock.untilDeadline(0)).toBe(1);
  });

  it('has no deadline unless the task sets one', () => {
    const { clock, pass } = clockAt();
    pass(10 * 365 * 86_400);
    expect(clock.pastDeadline()).toBe(false);
    expect(clock.untilDeadline(3_600_000)).toBe(3_600_000);
  });
});

describe('Budgets', () => {
  function budgetsHarness(options: Parameters<typeof deskHarness>[0] = {}) {
    const h = deskHarness(options);
    const settled: string[] = [];
    const budgets = new Budgets({
      state: h.state,
      clock: h.clock,
      desk: h.desk,
      events: { emit: (type, data) => h.state.events.push({ seq: h.state.events.length + 1, type, at: '', data }) },
      phase: { settle: () => settled.push('settle') },
    });
    return { ...h, budgets, settled };
  }

  it("adds up a model call's tokens and cost, without float dust", () => {
    const { budgets, state } = budgetsHarness();
    budgets.recordUsage({ inputTokens: 100, outputTokens: 20, costUsd: 0.1 });
    budgets.recordUsage({ inputTokens: 50, outputTokens: 5, costUsd: 0.2 });
    expect(state.used).toMatchObject({ tokens: 175, costUsd: 0.3 });
    expect(state.usage).toEqual({ inputTokens: 150, outputTokens: 25, costUsd: 0.3 });
  });

  it("counts a sub-task's tokens, cost and tool calls against its parent, not its steps", () => {
    const { budgets, state } = budgetsHarness();
    budgets.recordChild({ usage: { inputTokens: 10, outputTokens: 2, costUsd: 0.01 }, used: { steps: 4, tokens: 12, costUsd: 0.01, toolCalls: 3, wallSeconds: 9 } });
    expect(state.used).toEqual({ steps: 0, tokens: 12, costUsd: 0.01, toolCalls: 3, wallSeconds: 0 });
  });

  it('reaches the work-time budget by working, not by waiting', async () => {
    const { budgets, clock, workflow } = budgetsHarness();
    clock.pause();
    await workflow.advance(601_000);
    expect(budgets.reached()).toBeUndefined();
    clock.resume();
    await workflow.advance(600_000);
    expect(budgets.reached()).toBe('wall_time_budget');
    expect(budgets.used().wallSeconds).toBe(600);
  });

  it('pauses at a reached budget with an "extend budget?" approval, and goes on once the owner extends it', async () => {
    const h = budgetsHarness();
    h.state.used.steps = 10;
    expect(h.budgets.reached()).toBe('step_budget');
    const extended = h.budgets.extend('step_budget');
    await h.workflow.settle();

    const [approval] = h.desk.pending();
    expect(approval).toMatchObject({ approvalId: 'apr_1', tool: 'extend_budget', rationale: 'The task reached its step budget.' });
    expect(h.calls.propose[0]!.arguments).toEqual({ reason: 'step_budget', budgets: { ...BUDGETS, maxSteps: 20 }, used: { ...h.state.used, wallSeconds: 0 } });
    expect(h.state.events[0]).toMatchObject({ type: 'step_finished', data: { step: 'budget', reached: 'step_budget' } });

    void h.decide({ approvalId: 'apr_1', decision: 'approve', approver: approver('owner') });
    await h.workflow.settle();
    await expect(extended).resolves.toBe(true);
    expect(h.state.budgets).toEqual({ ...BUDGETS, maxSteps: 20 });
    expect(h.desk.find('apr_1')).toMatchObject({ status: 'executed', result: { budgets: { ...BUDGETS, maxSteps: 20 } } });
    expect(h.budgets.reached()).toBeUndefined();
    expect(h.settled.at(-1)).toBe('settle');
  });

  it('sets what the owner edited the extension to, once shown and approved again', async () => {
    const h = budgetsHarness();
    h.state.used.toolCalls = 20;
    const extended = h.budgets.extend('tool_call_budget');
    await h.workflow.settle();
    const args = h.desk.find('apr_1')!.arguments as { budgets: AgentBudgets };
    void h.decide({ approvalId: 'apr_1', decision: 'approve', arguments: { ...args, budgets: { ...args.budgets, maxToolCalls: 25, maxSteps: 1 } }, approver: approver('owner') });
    await h.workflow.settle();
    void h.decide({ approvalId: 'apr_2', decision: 'approve', approver: approver('owner') });
    await h.workflow.settle();
    await expect(extended).resolves.toBe(true);
    // 25 tool calls as edited; the edit cannot shrink the step budget.
    expect(h.state.budgets).toEqual({ ...BUDGETS, maxToolCalls: 25 });
  });

  it('stops when the owner says no, or nobody answers (an extension never escalates)', async () => {
    const rejected = budgetsHarness();
    const no = rejected.budgets.extend('cost_budget');
    await rejected.workflow.settle();
    void rejected.decide({ approvalId: 'apr_1', decision: 'reject', approver: approver('owner') });
    await rejected.workflow.settle();
    await expect(no).resolves.toBe(false);
    expect(rejected.state.budgets).toEqual(BUDGETS);

    const silent = budgetsHarness({ options: { onApprovalExpiry: 'escalate' } });
    const nobody = silent.budgets.extend('cost_budget');
    await silent.workflow.advance(OPTIONS.approvalTimeoutSeconds * 1000);
    await expect(nobody).resolves.toBe(false);
    expect(silent.desk.find('apr_1')).toMatchObject({ status: 'expired', requiredRole: 'approvals:write' });
    expect(silent.desk.find('apr_1')!.escalated).toBeUndefined();
  });
});
