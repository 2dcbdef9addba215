// The Temporal calls the rooms make, handed in rather than imported: outside the sandbox
// condition and setHandler throw, so a unit test drives a room with fakes instead.
import type { setHandler } from '@temporalio/workflow';

export interface WorkflowCalls {
  /** True if `fn` came true, false if the timeout passed first (it starts a timer either way). */
  condition(fn: () => boolean, timeoutMs: number): Promise<boolean>;
  condition(fn: () => boolean): Promise<void>;
  setHandler: typeof setHandler;
  patched(patchId: string): boolean;
  warn(message: string, attributes?: Record<string, unknown>): void;
}
