// Guarded streaming: the answer reaches the event stream sentence by sentence, each sentence
// only after the output checks passed on it (PII masked or held, toxicity, brand terms,
// grounding). The first sentence that fails holds the rest back; the workflow's failure
// policy then decides the answer, which arrives as the final event. Released sentences go
// to `answer_stream`, which the API's event stream tails.
import type { Db } from '../../infra/db/pool.js';
import { checkBrandTerms, groundingChecker, scoreToxicity, splitSentences, type GroundingResult } from './output-checks.js';
import { detectPii } from './pii.js';
import type { GuardrailPolicy } from './policy.js';
import { blankPlaceholders } from './types.js';
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
  private readonly ground: (sentence: string) => GroundingResult;

  constructor(
    private readonly db: Db,
    private readonly vault: PiiVault,
    private readonly policy: GuardrailPolicy,
    private readonly ref: StreamRef,
    passages: string[],
    private readonly attempt: number,
  ) {
    // The context is indexed once for the whole answer, not once per sentence.
    this.ground = passages.length ? groundingChecker(passages, { minSupport: policy.output.grounding.minSupport }) : () => ({ sentences: [], unsupported: 0, supportedRatio: 1 });
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

  /** The output checks that can judge one sentence on its own; the name of the first that fails. */
  private failedCheck(sentence: string): string | undefined {
    const p = this.policy;
    if (detectPii(sentence).some((s) => p.pii.output[s.type] === 'block')) return 'pii_leak';
    if (scoreToxicity(sentence).score >= p.output.toxicity.threshold) return 'toxicity';
    if (p.output.brand.action !== 'pass' && checkBrandTerms(sentence, p.output.brand).some((t) => t.kind !== 'brand')) return 'brand';
    if (p.output.grounding.maxUnsupported === 0 && this.ground(blankPlaceholders(sentence)).unsupported > 0) return 'grounding';
    return undefined;
  }

  private async append(kind: 'sentence' | 'held' | 'reset', text: string): Promise<void> {
    await this.db.query(
      `INSERT INTO answer_stream (task_id, seq, attempt, kind, text)
       SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4 FROM answer_stream WHERE task_id = $1`,
      [this.ref.taskId, this.attempt, kind, text],
    );
  }
}
