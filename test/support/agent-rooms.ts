// Fakes for unit-testing runAgent's rooms without the Temporal sandbox: the Temporal calls a
// room is handed (workflows/agent/workflow-calls.ts), a clock the test moves, and the approval
// desk built over recording activities.
import type { setHandler } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { AgentOptions, ApprovalDecision, ApprovalOutcome, Approver, StepRecord } from '../../workflows/messages.js';
import { ApprovalDesk, type ApprovalDeskDeps } from '../../workflows/agent/approval-desk.js';
import { AnnouncedSteps, EventStream } from '../../workflows/agent/events.js';
import { restoreState, type AgentState } from '../../workflows/agent/state.js';
import { WorkClock } from '../../workflows/agent/work-clock.js';
import type { WorkflowCalls } from '../../workflows/agent/workflow-calls.js';

type Handler = { handler: (arg: never) => unknown; validator?: (arg: never) => void };

/**
 * The sandbox's side of a room: conditions are checked the way Temporal checks them — after
 * the work in flight has run, again and again until none comes true — and a timer fires only
 * when the test moves the clock past it.
 */
export class FakeWorkflow implements WorkflowCalls {
  now = Date.parse('2026-03-02T09:00:00.000Z');
  /** The patch ids patched() answers true for (a run recorded after the patch). */
  readonly patches = new Set<string>();
  readonly warnings: string[] = [];
  /** Handler names in the order they were registered. */
  readonly registered: string[] = [];
  private readonly handlers = new Map<string, Handler>();
  private waiters: Array<{ fn: () => boolean; resolve: (decided: boolean) => void; until: number }> = [];

  readonly condition = ((fn: () => boolean, timeoutMs?: number) =>
    new Promise<boolean>((resolve) => {
      this.waiters.push({ fn, resolve, until: timeoutMs === undefined ? Infinity : this.now + timeoutMs });
    })) as WorkflowCalls['condition'];

  readonly setHandler = ((def: { name: string }, handler: Handler['handler'], options?: { validator?: Handler['validator'] }) => {
    this.registered.push(def.name);
    this.handlers.set(def.name, { handler, validator: options?.validator });
  }) as typeof setHandler;

  patched(patchId: string): boolean {
    return this.patches.has(patchId);
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  /** Let the work in flight run, resolving conditions that come true, until nothing changes. */
  async settle(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      await new Promise((r) => setImmediate(r));
      const ready = this.waiters.filter((w) => w.fn());
      if (ready.length === 0) return;
      this.waiters = this.waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve(true);
    }
    throw new Error('conditions kept coming true');
  }

  /** Move the clock: the timers that fall due end their waits (a condition true by then still wins). */
  async advance(ms: number): Promise<void> {
    await this.settle(); // the waits the work in flight starts begin now, not after the move
    this.now += ms;
    await this.settle();
    const due = this.waiters.filter((w) => w.until <= this.now);
    this.waiters = this.waiters.filter((w) => !due.includes(w));
    for (const w of due) w.resolve(false);
    await this.settle();
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** An Update as Temporal runs it: the validator first (a refusal throws and nothing changes), then the handler. */
  async update<R>(name: string, arg: unknown): Promise<R> {
    const h = this.handler(name);
    h.validator?.(arg as never);
    return (await h.handler(arg as never)) as R;
  }

  async signal(name: string, arg: unknown): Promise<void> {
    await this.handler(name).handler(arg as never);
  }

  private handler(name: string): Handler {
    const h = this.handlers.get(name);
    if (!h) throw new Error(`no handler for ${name}`);
    return h;
  }
}

export const TENANT = 'acme';

export const OPTIONS: AgentOptions = {
  mode: 'loop',
  budgets: { maxSteps: 10, maxTokens: 10_000, maxCostUsd: 1, maxToolCalls: 20, maxWallSeconds: 600 },
  approvalTimeoutSeconds: 3600,
  onApprovalExpiry: 'reject',
  keepOpenSeconds: 0,
  maxMalformedToolCalls: 3,
};

export function approver(userId: string, roles: string[] = ['approvals:write'], keyId = `key-${userId}`): Approver {
  return { keyId, userId, tenantId: TENANT, roles };
}

type Proposal = Awaited<ReturnType<Activities['proposeAction']>>;
type Execution = Awaited<ReturnType<Activities['executeAction']>>;
type Verdict = Awaited<ReturnType<Activities['verifyApprovalSignal']>>;

/** How the fake activities answer; each call is recorded. */
export interface Answers {
  propose?(input: Parameters<Activities['proposeAction']>[0]): Proposal;
  execute?(input: Parameters<Activities['executeAction']>[0]): Execution | Promise<Execution>;
  verify?(signal: unknown): Verdict;
}

/** A manual proposal: a person with approvals:write decides, `approvalsNeeded` of them. */
export function askProposal(input: { arguments: Record<string, unknown>; tool: string }, approvalsNeeded = 1): Proposal {
  return {
    ok: true,
    argumentsHash: `hash:${JSON.stringify(input.arguments)}`,
    preview: { summary: `${input.tool} ${JSON.stringify(input.arguments)}`, changes: {} },
    policy: { mode: 'ask', approvalsNeeded, requiredRole: 'approvals:write', rule: 'tenant policy: a person decides' },
    provenance: [],
    maskedArguments: input.arguments,
  };
}

export function deskHarness(o: { options?: Partial<AgentOptions>; answers?: Answers } = {}) {
  const workflow = new FakeWorkflow();
  const options = { ...OPTIONS, ...o.options };
  const state: AgentState = restoreState({ tenantId: TENANT, collection: 'docs', input: 'refund order 1001', conversation: [], options });
  const clock = new WorkClock(state.used, options, () => workflow.now);
  const events = new EventStream(state, () => workflow.now);
  const steps = new AnnouncedSteps(events);
  const calls = { propose: [] as Array<Parameters<Activities['proposeAction']>[0]>, execute: [] as Array<Parameters<Activities['executeAction']>[0]>, index: [] as Array<{ approvalId: string; status: string }>, verify: [] as unknown[] };
  const settles: number[] = [];
  const deps: ApprovalDeskDeps = {
    task: { tenantId: TENANT, collection: 'docs', taskId: 'task-1', vaultTaskId: 'task-1' },
    options,
    state,
    actions: {
      proposeAction: async (input) => {
        calls.propose.push(input);
        return (o.answers?.propose ?? askProposal)(input);
      },
      executeAction: async (input) => {
        calls.execute.push(input);
        return o.answers?.execute ? o.answers.execute(input) : { ok: true, result: { refunded: input.arguments }, summary: `${input.tool} done`, replayed: false, executedAt: new Date(workflow.now).toISOString() };
      },
    },
    bookkeeping: {
      indexApproval: async ({ approval }) => {
        calls.index.push({ approvalId: approval.approvalId, status: approval.status });
      },
      verifyApprovalSignal: async ({ signal }) => {
        calls.verify.push(signal);
        return o.answers?.verify ? o.answers.verify(signal) : { ok: false, reason: 'no approval token' };
      },
    },
    events,
    steps,
    clock,
    phase: { settle: () => settles.push(workflow.now) },
    workflow,
  };
  const desk = new ApprovalDesk(deps);
  desk.registerHandlers();
  return {
    desk,
    workflow,
    state,
    clock,
    calls,
    steps: steps.steps as StepRecord[],
    settles,
    /** The event types so far, in order. */
    eventTypes: () => state.events.map((e) => e.type),
    /** decideApproval, as the API sends it. */
    decide: (d: Omit<ApprovalDecision, 'argumentsHash'> & { argumentsHash?: string }) => {
      const argumentsHash = d.argumentsHash ?? desk.find(d.approvalId)?.argumentsHash ?? '';
      return workflow.update<ApprovalOutcome>('decideApproval', { ...d, argumentsHash });
    },
  };
}
