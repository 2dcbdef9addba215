// Guarded streaming: the answer reaches the event stream sentence by sentence, each sentence
// only after the output checks that can judge a sentence alone passed on it — the same checks,
// by the same rules, as the answer guard (checks/index.ts); PII of masked classes is masked.
// The first sentence that fails holds the rest back; the workflow's failure policy then
// decides the answer, which arrives as the final event. Released sentences go to
// `answer_stream`, which the API's event stream tails. The gate itself (GuardedSentences)
// writes to whatever sink it is given: the OpenAI-compatible proxy streams through it too.
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

/** Where the gate's sentences go, in order, each awaited before the next. */
export interface SentenceSink {
  /** A sentence that passed, PII masked; `leading` is the whitespace the answer had before it. */
  release(sentence: string, leading: string): Promise<void>;
  /** The first sentence that failed `reason`: nothing after it is released. */
  hold(reason: OutputCheck): Promise<void>;
}

/** The sentence-by-sentence gate: complete sentences are checked, masked and released in order. */
export class GuardedSentences {
  private buffer = '';
  private chain: Promise<void> = Promise.resolve();
  private heldReason: OutputCheck | undefined;
  private released = 0;
  private readonly checks: Array<{ name: OutputCheck; fails: SentenceCheck }>;

  constructor(
    private readonly vault: PiiVault,
    private readonly policy: GuardrailPolicy,
    private readonly ref: StreamRef,
    passages: string[],
    private readonly sink: SentenceSink,
  ) {
    // Prepared once for the whole answer (grounding indexes the context), not once per sentence.
    this.checks = sentenceChecks(policy.output, { passages, pii: policy.pii.output });
  }

  /** Text as it arrives: complete sentences are checked and released in order. */
  push(delta: string): void {
    this.buffer += delta;
    const sentences = splitSentences(this.buffer);
    // The last segment may still be growing: keep it until more text or the end arrives.
    if (sentences.length < 2) return;
    this.take(sentences.slice(0, -1));
  }

  /** The reply is complete: release what is left, and wait until everything is written. */
  async end(): Promise<{ released: number; held?: OutputCheck }> {
    if (this.buffer.trim()) this.take(splitSentences(this.buffer));
    this.buffer = '';
    await this.chain;
    return { released: this.released, held: this.heldReason };
  }

  /** The reply broke off: what is buffered is dropped (never checked whole), what was queued is written. */
  async abandon(): Promise<void> {
    this.buffer = '';
    await this.chain;
  }

  private take(sentences: Array<{ text: string; start: number; end: number }>): void {
    let at = 0;
    for (const s of sentences) {
      const leading = this.buffer.slice(at, s.start);
      this.chain = this.chain.then(() => this.release(s.text.trim(), leading));
      at = s.end;
    }
    this.buffer = this.buffer.slice(at);
  }

  private async release(sentence: string, leading: string): Promise<void> {
    if (!sentence || this.heldReason) return;
    const reason = this.failedCheck(sentence);
    if (reason) {
      this.heldReason = reason;
      await this.sink.hold(reason);
      return;
    }
    const pii = this.policy.pii.output;
    const spans = detectPii(sentence).filter((s) => pii[s.type] === 'mask');
    const text = spans.length ? (await this.vault.mask(this.ref, sentence, spans)).text : sentence;
    await this.sink.release(text, leading);
    this.released += 1;
  }

  /** The most serious check the sentence fails, if any. */
  private failedCheck(sentence: string): OutputCheck | undefined {
    return this.checks.find((c) => c.fails(sentence))?.name;
  }
}

/** A task's guarded stream: the gate writing to `answer_stream`. */
export class GuardedAnswerStream {
  private readonly gate: GuardedSentences;

  constructor(
    private readonly db: Db,
    vault: PiiVault,
    policy: GuardrailPolicy,
    private readonly ref: StreamRef,
    passages: string[],
    private readonly attempt: number,
  ) {
    this.gate = new GuardedSentences(vault, policy, ref, passages, {
      release: (sentence) => this.append('sentence', sentence),
      hold: (reason) => this.append('held', reason),
    });
  }

  /** Every generation starts with a reset, so a client drops what an earlier attempt streamed. */
  async begin(): Promise<void> {
    await this.append('reset', String(this.attempt));
  }

  /** Text as it arrives: complete sentences are checked and released in order. */
  push(delta: string): void {
    this.gate.push(delta);
  }

  /** The reply is complete: release what is left, and wait until everything is written. */
  async end(): Promise<{ released: number; held?: string }> {
    return this.gate.end();
  }

  private async append(kind: 'sentence' | 'held' | 'reset', text: string): Promise<void> {
    await this.db.query(
      `INSERT INTO answer_stream (task_id, seq, attempt, kind, text)
       SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4 FROM answer_stream WHERE task_id = $1`,
      [this.ref.taskId, this.attempt, kind, text],
    );
  }
}
