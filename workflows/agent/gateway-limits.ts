// When the gateway refuses a model call for a limit, the task pauses instead of failing: a
// rate limit is waited out (a durable timer for its Retry-After, then the call again); a
// budget asks the task's owner at the approval desk, as the task's own budgets do — approved
// means "go on" (an admin raises the budget with PUT /v1/budgets; still refused, it asks
// again), rejected or expired stops the task, reported as such.
import { ActivityFailure, ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import { EXTEND_BUDGET } from '../../contracts/approvals.js';
import { BUDGET_EXCEEDED, limitRefusal, RATE_LIMITED, type LimitRefusal } from '../../contracts/gateway-limits.js';
import type { ApprovalDesk } from './approval-desk.js';
import type { EventStream } from './events.js';
import type { PhaseTracker } from './phase.js';
import type { WorkClock } from './work-clock.js';

/**
 * Runs before any command of the pause: histories recorded before it never reach a refusal, so
 * they replay unchanged; a run that does records the marker where the pause begins.
 */
export const GATEWAY_LIMIT_PAUSE_PATCH = 'gateway-limit-pause';

export type GatewayRefusal = LimitRefusal & { kind: 'budget' | 'rate' };

/** The gateway's budget or rate-limit refusal inside an activity's failure, or undefined. */
export function gatewayRefusalOf(err: unknown): GatewayRefusal | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure) || (cause.type !== BUDGET_EXCEEDED && cause.type !== RATE_LIMITED)) return undefined;
  const details = limitRefusal.safeParse(cause.details?.[0]);
  if (!details.success) return undefined;
  return { ...details.data, kind: cause.type === RATE_LIMITED ? 'rate' : 'budget' };
}

/** The answer of a task the owner did not let go on past a gateway limit. */
export function gatewayStopAnswer(refusal: GatewayRefusal): string {
  return `Stopped: the gateway refused the task's model call (${refusal.limit}) and it was not extended.`;
}

export interface GatewayLimitsDeps {
  desk: Pick<ApprovalDesk, 'propose' | 'awaitDecision' | 'publish'>;
  events: Pick<EventStream, 'emit'>;
  clock: Pick<WorkClock, 'pause' | 'resume'>;
  phase: Pick<PhaseTracker, 'settle'>;
}

export class GatewayLimitPause {
  constructor(private readonly deps: GatewayLimitsDeps) {}

  /**
   * Runs `call`; while the gateway refuses it for a limit, waits the limit out and runs it
   * again. Returns the call's result, or the refusal the owner did not extend.
   */
  async run<T>(call: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; refusal: GatewayRefusal }> {
    for (;;) {
      try {
        return { ok: true, value: await call() };
      } catch (err) {
        const refusal = gatewayRefusalOf(err);
        if (!refusal || !patched(GATEWAY_LIMIT_PAUSE_PATCH)) throw err;
        if (!(await this.waitOut(refusal))) return { ok: false, refusal };
      }
    }
  }

  private async waitOut(refusal: GatewayRefusal): Promise<boolean> {
    const { events, clock } = this.deps;
    events.emit('step_finished', { step: 'gateway_limit', limit: refusal.limit, retryAfterSeconds: refusal.retryAfterSeconds });
    if (refusal.kind === 'rate' && refusal.retryAfterSeconds !== null) {
      // Waiting for a rate limit is not work: the work clock stops, as for an approval.
      clock.pause();
      await sleep(refusal.retryAfterSeconds * 1000);
      clock.resume();
      return true;
    }
    return this.askToGoOn(refusal);
  }

  private async askToGoOn(refusal: GatewayRefusal): Promise<boolean> {
    const { desk, clock, phase } = this.deps;
    clock.pause();
    const args = { reason: 'gateway_limit', limit: refusal.limit, retryAfterSeconds: refusal.retryAfterSeconds };
    const proposal = await desk.propose(EXTEND_BUDGET, args, `The gateway refused the task's model call: ${refusal.limit} is used up. Raise it (PUT /v1/budgets), then approve to go on.`);
    if (!proposal.ok) return false;
    const waited = await desk.awaitDecision(proposal.approval, { escalate: false, explainDeadline: false });
    phase.settle();
    clock.resume();
    if (!waited.decided || waited.approval.status !== 'approved') return false;
    waited.approval.status = 'executed';
    waited.approval.result = { limit: refusal.limit, goOn: true };
    await desk.publish(waited.approval, 'approval_decided', { decision: 'executed' });
    return true;
  }
}
