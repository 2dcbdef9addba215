// Builds one run's rooms over the real Temporal calls and activities, and registers the
// task's handlers. Each room gets only what it uses, so a unit test can build it with fakes.
import { condition, executeChild, log, patched, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { agentEventsQuery, agentStatusQuery, type AgentTaskInput } from '../messages.js';
import { RunDetails } from '../policy/summaries.js';
import { openReviewDesk } from '../steps/index.js';
import { AgentAnswers } from './answers.js';
import { ApprovalDesk } from './approval-desk.js';
import { Budgets } from './budgets.js';
import { GatewayLimitPause } from './gateway-limits.js';
import { Continuation } from './continue-as-new.js';
import { Conversation } from './conversation.js';
import { AnnouncedSteps, EventStream } from './events.js';
import { PhaseTracker } from './phase.js';
import { PlanMode } from './plan.js';
import { ForkSeeder, replayWith } from '../policy/fork-seed.js';
import { actions, bookkeeping as liveBookkeeping, models as liveModels, tools as liveTools } from './proxies.js';
import { restoreState, taskContext, type AgentWorkflow } from './state.js';
import { ToolCatalog } from './tool-catalog.js';
import { AgentTurn } from './turn.js';
import { WorkClock } from './work-clock.js';
import type { WorkflowCalls } from './workflow-calls.js';

export type Agent = ReturnType<typeof composeAgent>;

/** `self` is runAgent: a plan's sub-tasks run as child runAgent workflows. */
export function composeAgent(input: AgentTaskInput, self: AgentWorkflow) {
  const info = workflowInfo();
  const workflow: WorkflowCalls = { condition, setHandler, patched, warn: (message, attributes) => log.warn(message, attributes) };
  const task = taskContext(input, info.workflowId);
  const options = input.options;
  const state = restoreState(input);
  const clock = new WorkClock(state.used, options);
  const events = new EventStream(state);
  const steps = new AnnouncedSteps(events);
  // A what-if fork's calls before its fork point are served from the original's record; write
  // actions always go through the ledger, which knows what the original executed.
  const seeder = input.fork && patched('what-if-fork') ? new ForkSeeder(input.fork, input.tenantId, () => steps.steps, replayWith(liveBookkeeping)) : undefined;
  const seeded = <T extends object>(stub: T): T => (seeder ? seeder.wrap(stub) : stub);
  const [models, tools, bookkeeping] = [seeded(liveModels), seeded(liveTools), seeded(liveBookkeeping)];
  const indexed = new Set(info.typedSearchAttributes.getAll().map((p) => p.key.name));
  const phase = new PhaseTracker({ state, clock, events, indexed, upsert: upsertSearchAttributes });
  // A reviewer answers when a failure policy or the user hands the conversation to a human.
  // Opening the desk registers the reviewAnswer Update: the first of the handlers below.
  const review = openReviewDesk(input.tenantId, () => phase.reviewChanged(review.pending()));
  // What the Temporal UI shows of the run so far (a query, not history).
  const details = new RunDetails(setCurrentDetails);
  const desk = new ApprovalDesk({ task, options, state, actions, bookkeeping, events, steps, clock, phase, workflow, details });
  const budgets = new Budgets({ state, clock, desk, events, phase });
  const conversation = new Conversation({ task, options, state, models, router: input.parent ? undefined : bookkeeping, steps, budgets, events, clock, phase, workflow });
  const continuation = new Continuation(input, state, clock);
  const catalog = new ToolCatalog(bookkeeping, options);
  const gatewayLimits = new GatewayLimitPause({ desk, events, clock, phase });
  const turn = new AgentTurn({ task, options, state, models, tools, catalog, desk, budgets, gatewayLimits, conversation, continuation, clock, events, steps, phase, details });
  const answers = new AgentAnswers({ task, options, state, models, steps, review, turn, clock, events });
  const plan = new PlanMode({ task, options, state, models, catalog, turn, budgets, gatewayLimits, steps, events, runChild: (args, o) => executeChild(self, { ...o, args: [args] }) });

  // Every handler before the first await, in this order: a message that came before its
  // handler is delivered when the handler is set, so the order is part of the history.
  setHandler(agentStatusQuery, () => ({
    phase: phase.current,
    mode: options.mode,
    plan: state.plan,
    steps: steps.steps,
    pendingApprovals: desk.pending(),
    approvals: state.approvals,
    budgets: state.budgets,
    used: budgets.used(),
    usage: state.usage,
    answers: state.answers,
    question: state.question,
    review: review.pending(),
  }));
  setHandler(agentEventsQuery, (since: number) => events.since(since));
  desk.registerHandlers(); // decideApproval Update, approvalDecision Signal
  conversation.registerHandlers(); // sendMessage Update

  return { state, clock, events, steps, phase, desk, budgets, conversation, continuation, turn, answers, plan };
}
