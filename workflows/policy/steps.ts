// The record of a task's steps that the `status` query returns: each step's outcome, the
// latency measured where its work ran, and the tokens and cost it spent.
import type { StepRecord, Usage } from '../messages.js';
import { addUsage, NO_USAGE } from './usage.js';

function errorMessage(err: unknown): string {
  const cause = (err as { cause?: { message?: string } })?.cause?.message;
  return cause ?? (err instanceof Error ? err.message : String(err));
}

export class StepLog {
  readonly steps: StepRecord[] = [];

  /** Run one step, recording it as running, then completed (with `describe`'s fields) or failed. */
  async run<T>(name: string, fn: () => Promise<T>, describe: (result: T) => Partial<StepRecord> = () => ({})): Promise<T> {
    const step: StepRecord = { name, status: 'running', startedAt: new Date().toISOString() };
    this.steps.push(step);
    try {
      const result = await fn();
      Object.assign(step, describe(result), { status: 'completed' });
      return result;
    } catch (err) {
      step.status = 'failed';
      step.error = errorMessage(err);
      throw err;
    }
  }

  record(step: Omit<StepRecord, 'startedAt'>): void {
    this.steps.push({ ...step, startedAt: new Date().toISOString() });
  }

  get usage(): Usage {
    return this.steps.reduce((total, s) => addUsage(total, s.usage), NO_USAGE);
  }
}
