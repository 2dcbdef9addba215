// Where the task is — working, awaiting an approval or the user, needs_review, done — for the
// status query and, when the starter indexed them, the task's search attributes.
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { AgentPhase, PendingReview } from '../messages.js';
import { AWAITING_APPROVAL_SEARCH_ATTRIBUTE, COST_USED_SEARCH_ATTRIBUTE, STEPS_USED_SEARCH_ATTRIBUTE, TASK_STATUS_SEARCH_ATTRIBUTE } from '../../contracts/search-attributes.js';
import type { EventStream } from './events.js';
import { pendingApprovals, type AgentState } from './state.js';
import type { WorkClock } from './work-clock.js';

/** Budget counters are re-indexed at every change of phase, and otherwise every few steps. */
const STEPS_PER_INDEX = 5;

export interface PhaseDeps {
  state: Pick<AgentState, 'approvals' | 'used' | 'question' | 'finished'>;
  clock: Pick<WorkClock, 'pause' | 'resume'>;
  events: Pick<EventStream, 'emit'>;
  /**
   * The search attributes the starter set (the API sets them all): only those are kept
   * current, so a server without them registered (the time-skipping test server) never sees one.
   */
  indexed: ReadonlySet<string>;
  upsert(updates: SearchAttributeUpdatePair[]): void;
}

export class PhaseTracker {
  current: AgentPhase = 'working';
  private lastIndexed = '';
  private stepsAtLastIndex = -1;

  constructor(private readonly deps: PhaseDeps) {}

  set(next: AgentPhase): void {
    const { state, indexed } = this.deps;
    this.current = next;
    // Each upsert is a visibility write: only when the phase or the waiting state changes.
    const waiting = pendingApprovals(state).length > 0;
    const key = `${next}:${waiting}`;
    if (key === this.lastIndexed && state.used.steps - this.stepsAtLastIndex < STEPS_PER_INDEX) return;
    this.lastIndexed = key;
    this.stepsAtLastIndex = state.used.steps;
    const updates = [
      { key: TASK_STATUS_SEARCH_ATTRIBUTE, value: next },
      { key: AWAITING_APPROVAL_SEARCH_ATTRIBUTE, value: waiting },
      { key: STEPS_USED_SEARCH_ATTRIBUTE, value: state.used.steps },
      { key: COST_USED_SEARCH_ATTRIBUTE, value: Math.round(state.used.costUsd * 1e6) / 1e6 },
    ].filter((u) => indexed.has(u.key.name));
    if (updates.length) this.deps.upsert(updates as SearchAttributeUpdatePair[]);
  }

  /** After a wait: work resumes only when nobody is being waited for. */
  settle(): void {
    const { state, clock } = this.deps;
    if (state.finished) return;
    if (pendingApprovals(state).length > 0) this.set('awaiting_approval');
    else if (state.question !== undefined) this.set('awaiting_input');
    else {
      clock.resume();
      this.set('working');
    }
  }

  /** The review desk opened a review (`waiting`) or closed one. */
  reviewChanged(waiting: PendingReview | undefined): void {
    if (!waiting) return this.settle();
    this.deps.clock.pause();
    this.set('needs_review');
    this.deps.events.emit('review_requested', { reason: waiting.reason, failures: waiting.failures, expiresAt: waiting.expiresAt });
  }
}
