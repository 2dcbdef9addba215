// A long task continues as new at a step boundary: the next run starts from the compact state
// this one carries (state.ts), so no history grows without bound.
import { allHandlersFinished, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { AgentTaskInput } from '../messages.js';
import { carriedState, type AgentState, type AgentWorkflow } from './state.js';
import type { WorkClock } from './work-clock.js';

/** History events after which a run continues as new (Temporal suggests it near 4k+ events too). */
const HISTORY_LIMIT = 8_000;

export class Continuation {
  constructor(
    private readonly input: AgentTaskInput,
    private readonly state: AgentState,
    private readonly clock: Pick<WorkClock, 'pause'>,
  ) {}

  /** Whether this run's history is long enough to hand over to a new run. */
  due(): boolean {
    return workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (this.input.options.historyLimit ?? HISTORY_LIMIT);
  }

  /** Continue as new working on `task`, once every handler (an approver's Update) has finished. */
  async now(task: string): Promise<never> {
    this.clock.pause();
    await condition(allHandlersFinished);
    // A fork's next run is live throughout: its record is of the steps before the fork point.
    const { fork: _fork, ...input } = this.input;
    return continueAsNew<AgentWorkflow>({ ...input, carried: carriedState(this.state, task) });
  }
}
