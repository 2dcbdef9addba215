// A circuit breaker for one deployment. Closed, it counts the calls that end in a sliding window
// and opens when enough of them failed (a failure rate over a minimum number of calls, so two
// unlucky calls to a quiet deployment do not shut it). Open, it refuses at once — the chain moves
// on without waiting out a timeout — until its cool-down has passed. Then it is half-open: one
// trial call may go; its success closes the breaker, its failure opens it for another cool-down.
import type { BreakerSettings } from '../../../infra/config.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

/** What a trip looked like, for the log line and the counter. */
export interface BreakerTrip {
  from: BreakerState;
  failureRate: number;
  calls: number;
}

export class CircuitBreaker {
  private outcomes: Array<{ at: number; failed: boolean }> = [];
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly onTrip: (trip: BreakerTrip) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.settings.cooldownMs ? 'half_open' : 'open';
  }

  /** Whether a call may go now. In half-open it claims the one trial: a second caller is refused. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /** A call ended: a failure counts against the deployment, anything else (a 4xx included: it answered) for it. */
  record(failed: boolean): void {
    if (this.openedAt !== undefined) {
      // Only the half-open trial reaches here while open; its verdict decides alone.
      this.trialInFlight = false;
      if (failed) this.trip('half_open');
      else this.close();
      return;
    }
    this.outcomes.push({ at: this.now(), failed });
    const { calls, failureRate } = this.window();
    if (calls >= this.settings.minimumCalls && failureRate >= this.settings.failureRate) this.trip('closed');
  }

  /** A call that ended without a verdict (cancelled by its caller): the trial, if it was one, is free again. */
  release(): void {
    this.trialInFlight = false;
  }

  /** The calls in the window and the share of them that failed. */
  window(): { calls: number; failureRate: number } {
    const since = this.now() - this.settings.windowMs;
    this.outcomes = this.outcomes.filter((o) => o.at > since);
    const calls = this.outcomes.length;
    return { calls, failureRate: calls ? this.outcomes.filter((o) => o.failed).length / calls : 0 };
  }

  private trip(from: BreakerState): void {
    const { calls, failureRate } = this.window();
    this.openedAt = this.now();
    this.onTrip({ from, failureRate, calls });
  }

  private close(): void {
    this.openedAt = undefined;
    // A fresh start: the failures that opened it are history, not evidence against the next calls.
    this.outcomes = [];
  }
}
