// The task's event stream (the API tails it through the `events` query) and the steps it
// announces: each step is recorded for the status query and announced as it starts and ends.
import type { AgentEvent, AgentEventType, StepRecord } from '../messages.js';
import { StepLog } from '../policy/steps.js';
import type { AgentState } from './state.js';

/** Events kept for the event stream (older ones are dropped; the ledger and approvals table keep the record). */
const EVENT_BUFFER = 1_000;

export class EventStream {
  constructor(
    private readonly state: Pick<AgentState, 'events' | 'nextEventSeq'>,
    private readonly now: () => number = () => Date.now(),
  ) {}

  emit(type: AgentEventType, data: Record<string, unknown>): void {
    const { events } = this.state;
    events.push({ seq: this.state.nextEventSeq++, type, at: new Date(this.now()).toISOString(), data });
    if (events.length > EVENT_BUFFER) events.splice(0, events.length - EVENT_BUFFER);
  }

  since(seq: number): AgentEvent[] {
    return this.state.events.filter((e) => e.seq > seq);
  }
}

/** A StepLog whose steps are also announced on the event stream. */
export class AnnouncedSteps {
  private readonly log = new StepLog();

  constructor(private readonly events: Pick<EventStream, 'emit'>) {}

  get steps(): StepRecord[] {
    return this.log.steps;
  }

  async run<T>(name: string, fn: () => Promise<T>, describe: (result: T) => Partial<StepRecord> = () => ({})): Promise<T> {
    this.events.emit('step_started', { step: name });
    let record: Partial<StepRecord> = {};
    try {
      const result = await this.log.run(name, fn, (r) => (record = describe(r)));
      this.events.emit('step_finished', { step: name, status: 'completed', latencyMs: record.latencyMs, model: record.model, ...pickSummary(record.detail) });
      return result;
    } catch (err) {
      this.events.emit('step_finished', { step: name, status: 'failed', error: (err as Error).message });
      throw err;
    }
  }

  record(step: Omit<StepRecord, 'startedAt'>): void {
    this.log.record(step);
  }
}

/** The one-line summary and tool calls of a step's detail, for the event stream. */
function pickSummary(detail: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!detail) return {};
  const out: Record<string, unknown> = {};
  if (typeof detail.summary === 'string') out.summary = detail.summary;
  if (Array.isArray(detail.calls)) out.calls = (detail.calls as Array<{ tool: string }>).map((c) => c.tool);
  return out;
}
