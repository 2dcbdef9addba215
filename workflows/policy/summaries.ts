// The one-line summaries the Temporal UI shows for an activity (written when it is scheduled:
// what is asked) and the workflow's current details (what has happened so far).
//
// What a summary may say: the step's purpose, a collection, tool, model or route name, an
// approval id, counts and attempt numbers, and a tool argument that is an amount in dollars
// (a number under a key ending in `Usd`). Never a question, an answer, a passage or any
// other string argument: those are user text and may hold PII or vault placeholders. The
// payload codec encrypts summaries and details like every other payload (see
// test/workflows/ui-summaries.test.ts), so this list is a second line, not the only one: the
// codec endpoint decodes them for everyone who may read the run in the UI, and the amount is
// what the approver is asked to decide anyway.
import type { ActivityOptions } from '@temporalio/workflow';

/** The UI's summaries are single lines; past this they are cut (and marked). */
export const SUMMARY_MAX_CHARS = 100;

export function oneLine(text: string, max = SUMMARY_MAX_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

type WithOptions<A extends unknown[], R> = { executeWithOptions?: (options: ActivityOptions, args: A) => Promise<R> };

/**
 * Call an activity stub with a summary. A fake (a unit test's plain function) has no
 * executeWithOptions and is called as is. No patch: a summary is user metadata on the
 * ScheduleActivityTask command, which replay does not compare (every recorded history from
 * before summaries replays), and setCurrentDetails is answered by a query, not recorded.
 */
export function withSummary<A extends unknown[], R>(fn: ((...args: A) => Promise<R>) & WithOptions<A, R>, summary: string | undefined, ...args: A): Promise<R> {
  if (summary === undefined || typeof fn.executeWithOptions !== 'function') return fn(...args);
  return fn.executeWithOptions({ summary: oneLine(summary) } as ActivityOptions, args);
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const documents = (n: number) => `${n} document${n === 1 ? '' : 's'}`;

/** Dollar amounts among a tool's arguments (top level, `…Usd` numbers only), as "$79.00". */
export function amountsOf(args: Record<string, unknown>): string[] {
  return Object.entries(args)
    .filter(([k, v]) => /usd$/i.test(k) && typeof v === 'number' && Number.isFinite(v))
    .map(([, v]) => usd(v as number));
}

const attemptSuffix = (attempt: number | undefined) => (attempt !== undefined && attempt > 1 ? ` (attempt ${attempt})` : '');

export const summaries = {
  guardInput: () => 'input guard: PII, injection, scope',
  route: (masked: boolean) => `route the request (${masked ? 'masked' : 'raw'} text)`,
  rewrite: (model?: string) => `rewrite the question to stand alone${model ? ` with ${model}` : ''}`,
  semanticLookup: (route: string, collection: string) => `semantic cache lookup: route ${route}, ${collection}`,
  semanticStore: (route: string, collection: string) => `semantic cache store: route ${route}, ${collection}`,
  retrieve: (collection: string, mode?: string) => `retrieve from ${collection}${mode ? ` (${mode})` : ''}`,
  screen: (passages: number, collection: string) => `screen ${passages} passages from ${collection}`,
  generate: (passages: number, model: string | undefined, attempt: number) =>
    `generate from ${passages} passages with ${model ?? 'the default model'}${attempt >= 100 ? ` (sample ${attempt - 99})` : attemptSuffix(attempt)}`,
  guardOutput: (format?: string) => `output checks${format ? ` (${format} answer)` : ''}`,
  evict: (keys: number) => `evict ${keys} cached answer${keys === 1 ? '' : 's'} that failed checks`,
  decide: (step: number, model?: string) => `decide step ${step}${model ? ` with ${model}` : ''}`,
  readTool: (tool: string, collection?: string) => `${tool}${tool === 'search_documents' && collection ? ` in ${collection}` : ''}`,
  propose: (tool: string, args: Record<string, unknown>, approvalId: string) => [`propose ${tool}`, ...amountsOf(args), `(${approvalId})`].join(' '),
  execute: (tool: string, args: Record<string, unknown>, approvalId: string) => [`execute ${tool}`, ...amountsOf(args), `(${approvalId})`].join(' '),
  plan: (round: number, model?: string) => `${round === 0 ? 'plan sub-tasks' : `refine the plan (round ${round})`}${model ? ` with ${model}` : ''}`,
  listTools: () => 'list the registry’s tools',
  indexApproval: (approvalId: string, tool: string, status: string) => `index ${approvalId} ${tool}: ${status.replace(/_/g, ' ')}`,
  verifySignal: () => 'verify an approval signal’s token',
  compensate: (approvalId: string) => `compensate the action of ${approvalId}`,
  indexBatch: (from: number, to: number, total: number) => `index documents ${from + 1}–${to} of ${total}`,
  finishIngestion: (count: number) => `finish ingestion of ${documents(count)}`,
};

/** The workflow's details, in steps: "retrieved 8 passages from handbook; generating". */
export class RunDetails {
  private readonly done: string[] = [];
  constructor(private readonly set: (details: string) => void) {}

  /** Something finished; `now` is what runs next (shown after it, until the next call). */
  note(done: string | undefined, now?: string): void {
    if (done) this.done.push(done);
    // Only the latest few: details are a glance, the steps are in the status query.
    const shown = this.done.slice(-6);
    this.set(oneLine([...shown, now].filter(Boolean).join('; '), 400));
  }
}

/** A workflow's static summary, set when it starts (the API's tasks, an answer's agent, a plan's sub-tasks). */
export const startSummaries = {
  answer: (collection: string, mode: string, model?: string) => oneLine(`answer from ${collection} (${mode})${model ? ` with ${model}` : ''}`),
  agent: (mode: string, collection: string, tools?: string[]) => oneLine(`agent (${mode}) over ${collection}${tools?.length ? `: ${tools.join(', ')}` : ''}`),
  subtask: (parentTaskId: string, what: string) => oneLine(`${what} of ${parentTaskId}`),
  ingest: (count: number, collection: string) => oneLine(`ingest ${documents(count)} into ${collection}`),
};
