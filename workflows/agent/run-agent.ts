// runAgent: a model decides the next action, the workflow runs it, feeds the result back and
// repeats until the task is done. Read-only tools run at once (in parallel); write actions
// stop at an approval gate (an Update from the API, a Signal from the Temporal UI) and then
// run exactly once through the action ledger. Budgets pause the task with an "extend
// budget?" approval instead of failing it. Follow-up messages continue the conversation;
// long conversations continue as new with a compact state. The rooms are in compose.ts.
import { allHandlersFinished, CancellationScope, condition, isCancellation } from '@temporalio/workflow';
import type { AgentResult, AgentTaskInput } from '../messages.js';
import type { AnsweredTurn } from './answers.js';
import { composeAgent, type Agent } from './compose.js';
import type { UserRequest } from './conversation.js';

export async function runAgent(input: AgentTaskInput): Promise<AgentResult> {
  const agent = composeAgent(input, runAgent);
  const { conversation, answers, turn, plan, continuation } = agent;
  let last: AnsweredTurn;
  try {
    let request: UserRequest = input.carried ? { task: input.carried.task } : await conversation.open(input);
    conversation.beginRequest(request.task);
    agent.phase.set('working');
    let firstTurn = !input.carried;
    for (;;) {
      const { task, withheld } = request;
      const routed = withheld ? undefined : answers.byRoute(agent.state.route);
      last = withheld
        ? await answers.withoutModel(withheld)
        : (routed ?? (await answers.settle(task, firstTurn && input.options.mode === 'plan' ? await plan.run(task) : await turn.run(task))));
      firstTurn = false;
      answers.deliver(last);
      // A refused message ends the turn, not the conversation.
      if (last.endReason !== 'answered' && last.endReason !== 'refused') break;

      const next = await conversation.awaitFollowUp(task);
      if (!next) break;
      request = next;
      if (next.withheld) continue;
      conversation.beginRequest(next.task);
      if (continuation.due()) await continuation.now(next.task);
    }
  } catch (err) {
    if (isCancellation(err)) await CancellationScope.nonCancellable(() => cancelTask(agent));
    throw err;
  }
  return finishTask(agent, last);
}

async function finishTask({ state, clock, events, phase, steps, budgets }: Agent, last: AnsweredTurn): Promise<AgentResult> {
  state.finished = true;
  clock.pause();
  events.emit('task_finished', { endReason: last.endReason });
  phase.set('done');
  await condition(allHandlersFinished);
  return {
    answer: last.answer,
    guardrails: last.guardrails,
    endReason: last.endReason,
    model: state.lastModel,
    usage: state.usage,
    used: budgets.used(),
    steps: steps.steps,
    actions: state.approvals.map((a) => ({ approvalId: a.approvalId, tool: a.tool, status: a.status, result: a.result })),
    ...(state.route ? { route: state.route } : {}),
  };
}

async function cancelTask({ state, desk, events, phase }: Agent): Promise<void> {
  state.finished = true;
  await desk.withdrawPending('task canceled');
  events.emit('task_finished', { endReason: 'canceled' });
  phase.set('done');
}
