// A what-if fork runs the original task's code again with some changes, but the steps before
// its `atStep` are not run again: each activity call they make is served from the original's
// record (the replayRecordedCall activity reads the result the original got) instead of calling
// the model or the tool. The fork makes the same calls in the same order as the original up to
// there — same code, same input, same recorded results — so the n-th call of an activity type
// in the fork is the n-th one in the original's history.
//
// Write actions are never served from the record: proposeAction and executeAction always run,
// and the action ledger (activities/agent/actions.ts) knows what the original executed, so a
// write the original made comes back as already executed and nothing runs twice.
import type { Activities } from '../../activities/index.js';
import type { ForkSeed, RecordedCallRequest } from '../../contracts/task.js';
import type { StepRecord } from '../messages.js';

/** Activities that are never served from the record: the ledger and the approvals index decide them. */
const ALWAYS_LIVE: ReadonlySet<string> = new Set(['proposeAction', 'executeAction', 'compensateAction', 'indexApproval', 'verifyApprovalSignal', 'replayRecordedCall']);

type Replay = (request: RecordedCallRequest, summary: string) => Promise<unknown>;

/**
 * Whether a call made now belongs to a step before `atStep`. A step that is running made it (its
 * activity is called as soon as the step starts); otherwise it belongs to the step about to be
 * recorded (a cache lookup before its step is written down).
 */
export function beforeForkPoint(steps: readonly Pick<StepRecord, 'status'>[], atStep: number): boolean {
  const last = steps[steps.length - 1];
  const index = last?.status === 'running' ? steps.length - 1 : steps.length;
  return index < atStep;
}

export class ForkSeeder {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly seed: ForkSeed,
    private readonly tenantId: string,
    private readonly steps: () => readonly Pick<StepRecord, 'status'>[],
    private readonly replay: Replay,
  ) {}

  /**
   * `stub` (a proxyActivities object) with every call before the fork point served from the
   * record. Each call is counted by type whichever way it goes, so the occurrences line up with
   * the original's history.
   */
  wrap<T extends object>(stub: T): T {
    return new Proxy(stub, {
      get: (target, name, receiver) => {
        const live = Reflect.get(target, name, receiver) as unknown;
        if (typeof name !== 'string' || typeof live !== 'function' || ALWAYS_LIVE.has(name)) return live;
        const call = (options: Record<string, unknown> | undefined, args: unknown[]): Promise<unknown> => {
          const occurrence = (this.seen.get(name) ?? 0) + 1;
          this.seen.set(name, occurrence);
          if (beforeForkPoint(this.steps(), this.seed.atStep)) {
            return this.replay({ tenantId: this.tenantId, forkId: this.seed.forkId, activityType: name, occurrence }, `recorded ${name} #${occurrence} (fork of ${this.seed.of})`);
          }
          const withOptions = (live as { executeWithOptions?: (o: unknown, a: unknown[]) => Promise<unknown> }).executeWithOptions;
          return options && withOptions ? withOptions(options, args) : (live as (...a: unknown[]) => Promise<unknown>)(...args);
        };
        return Object.assign((...args: unknown[]) => call(undefined, args), { executeWithOptions: (options: Record<string, unknown>, args: unknown[]) => call(options, args) });
      },
    });
  }
}

/** The replay function over the local-activity stub that reads recorded results. */
export function replayWith(local: Pick<Activities, 'replayRecordedCall'> & { replayRecordedCall: { executeWithOptions?: unknown } }): Replay {
  return (request, summary) => {
    const stub = local.replayRecordedCall as unknown as { executeWithOptions?: (o: unknown, a: unknown[]) => Promise<unknown> } & ((r: RecordedCallRequest) => Promise<unknown>);
    return stub.executeWithOptions ? stub.executeWithOptions({ summary }, [request]) : stub(request);
  };
}
