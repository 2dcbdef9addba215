// Budgets count work, not waiting for people: the work clock stops while the task waits for
// an approver, a reviewer or the user. The deadline counts everything, waiting included, and
// cuts every wait short.
import type { AgentOptions, BudgetUsage } from '../messages.js';

export class WorkClock {
  private workingSince: number | undefined;
  private readonly deadline: number;

  /** `used.wallSeconds` is the work time of earlier runs (continue-as-new) and earlier stretches. */
  constructor(
    private readonly used: Pick<BudgetUsage, 'wallSeconds'>,
    options: Pick<AgentOptions, 'deadlineAt'>,
    /** Workflow time (deterministic in the sandbox); a test's own clock. */
    readonly now: () => number = () => Date.now(),
  ) {
    this.deadline = options.deadlineAt ? Date.parse(options.deadlineAt) : Infinity;
    this.workingSince = now();
  }

  pause(): void {
    if (this.workingSince !== undefined) this.used.wallSeconds += (this.now() - this.workingSince) / 1000;
    this.workingSince = undefined;
  }

  resume(): void {
    this.workingSince ??= this.now();
  }

  wallSeconds(): number {
    return this.used.wallSeconds + (this.workingSince !== undefined ? (this.now() - this.workingSince) / 1000 : 0);
  }

  pastDeadline(): boolean {
    return this.now() >= this.deadline;
  }

  /** A wait of `ms`, cut short by the deadline. At least 1 ms: condition(fn, 0) would record a patch marker for its pre-1.5 meaning. */
  untilDeadline(ms: number): number {
    return Math.max(1, Math.min(ms, this.deadline - this.now()));
  }
}
