// Guarded streaming: the answer reaches the event stream sentence by sentence, each sentence
// only after the output checks that can judge a sentence alone passed on it — the same checks,
// by the same rules, as the answer guard (checks/index.ts); PII of masked classes is masked.
// The first sentence that fails holds the rest back; the workflow's failure policy then
// decides the answer, which arrives as the final event. Released sentences go to
// `answer_stream`, which the API's event stream tails.
import type { Db } from '../../infra/db/pool.js';
import { sentenceChecks } from './checks/index.js';
import type { SentenceCheck } from './checks/types.js';
import { detectPii } from './pii.js';
import type { GuardrailPolicy, OutputCheck } from './policy.js';
import { splitSentences } from './sentences.js';
import type { PiiVault } from './vault.js';

export interface StreamRef {
  tenantId: string;
  /** The task whose stream this is (and whose vault masks what it releases). */
  taskId: string;
}

export class GuardedAnswerStream {
  private buffer = '';
  private chain: Promise<void> = Promise.resolve();
  private heldReason: string | undefined;
  private released = 0;
  private readonly checks: Array<{ name: OutputCheck; fails: SentenceCheck }>;

  constructor(
    private readonly db: Db,
    private readonly vault: PiiVault,
    private readonly policy: GuardrailPolicy,
    private readonly ref: StreamRef,
    passages: string[],
    private readonly attempt: number,
  ) {
    // Prepared once for the whole answer (grounding indexes the context), not once per sentence.
    this.checks = sentenceChecks(policy.output, { passages, pii: policy.pii.output });
  }

  /** Every generation starts with a reset, so a client drops what an earlier attempt streamed. */
  async begin(): Promise<void> {
    await this.append('reset', String(this.attempt));
  }

  /** Text as it arrives: complete sentences are checked and released in order. */
  push(delta: string): void {
    this.buffer += delta;
    const sentences = splitSentences(this.buffer);
    // The last segment may still be growing: keep it until more text or the end arrives.
    if (sentences.length < 2) return;
    const complete = sentences.slice(0, -1);
    this.buffer = this.buffer.slice(complete[complete.length - 1]!.end);
    for (const s of complete) this.enqueue(s.text);
  }

  /** The reply is complete: release what is left, and wait until everything is written. */
  async end(): Promise<{ released: number; held?: string }> {
    if (this.buffer.trim()) for (const s of splitSentences(this.buffer)) this.enqueue(s.text);
    this.buffer = '';
    await this.chain;
    return { released: this.released, held: this.heldReason };
  }

  private enqueue(sentence: string): void {
    this.chain = this.chain.then(() => this.release(sentence.trim()));
  }

  private async release(sentence: string): Promise<void> {
    if (!sentence || this.heldReason) return;
    const reason = this.failedCheck(sentence);
    if (reason) {
      this.heldReason = reason;
      await this.append('held', reason);
      return;
    }
    const pii = this.policy.pii.output;
    const spans = detectPii(sentence).filter((s) => pii[s.type] === 'mask');
    const text = spans.length ? (await this.vault.mask(this.ref, sentence, spans)).text : sentence;
    await this.append('sentence', text);
    this.released += 1;
  }

  /** The most serious check the sentence fails, if any. */
  private failedCheck(sentence: string): OutputCheck | undefined {
    return this.checks.find((c) => c.fails(sentence))?.name;
  }

  private async append(kind: 'sentence' | 'held' | 'reset', text: string): Promise<void> {
    await this.db.query(
      `INSERT INTO answer_stream (task_id, seq, attempt, kind, text)
       SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4 FROM answer_stream WHERE task_id = $1`,
      [this.ref.taskId, this.attempt, kind, text],
    );
  }
}
