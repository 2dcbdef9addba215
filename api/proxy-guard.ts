// The tenant's guardrail policy on the OpenAI-compatible proxy (routes/openai-proxy.ts): the guards
// a task runs (activities/guardrails/: input-guard, output-guard, the guarded stream's sentence
// gate), called in this process on its gateway, with a PII vault scoped to the request
// (`proxy_<uuid>`: the vault binds each value to its scope and placeholder, and a request is the
// proxy's unit, as a task is elsewhere). A synchronous endpoint has no workflow to wait in, so:
//
// - Input: every user message goes through the input guard (PII blocked or masked, injection,
//   scope, anomaly), the last one — the turn that arrives — also through the handoff triggers.
//   Earlier turns are checked too because the caller resends the whole history and all of it
//   reaches the model. Assistant, tool-call and tool contents are PII-masked as a task's
//   conversation is. A refusal answers with the policy's stock response and
//   finish_reason `content_filter`, with no model call. A handoff would wait for a reviewer,
//   which no caller of a synchronous endpoint can: it is refused the same way, with the policy's
//   failure stock response.
// - Output: the answer is free-form text (`format: 'text'`, no passages), so the checks that
//   apply are those output-guard runs on such answers: empty, pii_leak (masked classes masked,
//   blocked ones fail), brand, toxicity, and the judge if the policy names one; malformed and
//   grounding need citations and passages, which a proxied answer has not. A failing answer is
//   refused — the failure stock response, `content_filter` — with no retry: the caller decides
//   whether to ask again (a retry loop would double the latency and cost of a synchronous call).
// - Streaming: text is released sentence by sentence through the same sentence checks as a
//   task's guarded stream; the first failing sentence is never sent and nothing after it is, and
//   the stream ends with `content_filter`. The answer-level checks run once it is complete; if they
//   fail (the judge, say), the released text passed every sentence check, and the stream ends with
//   `content_filter` too.
// - Tool calls pass through unchecked: their arguments are the model's input to the caller's
//   code, not text for a user. Placeholders in them are restored like the text (below).
// - Placeholders (the input's, and PII the model wrote) are restored in the reply only for a
//   caller with `pii:read` (api/reveal.ts); everyone else gets the placeholders.
//
// Verdicts go to the `x-gatehouse-guardrails` header and to the log (checks, never text).
import { randomUUID } from 'node:crypto';
import type { ChatMessage, ChatResult, ToolCall } from '../activities/gateway/types.js';
import { GuardedSentences } from '../activities/guardrails/answer-stream.js';
import { logGuardChecks } from '../activities/guardrails/check-log.js';
import type { ClassifierGateway } from '../activities/guardrails/classifier.js';
import { guardInput, type GuardServices } from '../activities/guardrails/input-guard.js';
import { guardOutput } from '../activities/guardrails/output-guard.js';
import { GuardrailPolicies, type VersionedPolicy } from '../activities/guardrails/policy.js';
import { PLACEHOLDER_PATTERN } from '../activities/guardrails/types.js';
import { PiiVault } from '../activities/guardrails/vault.js';
import type { PayloadKeyRing } from '../infra/config.js';
import type { Db } from '../infra/db/pool.js';
import type { Logger } from '../infra/logger.js';
import type { Principal } from './auth.js';
import { PiiReveal } from './reveal.js';

/** The response header that says what the guards did: passed, masked (PII replaced), refused. */
export const GUARDRAILS_HEADER = 'x-gatehouse-guardrails';

export type GuardVerdict = 'passed' | 'masked' | 'refused';

export interface ProxyGuardDeps {
  db: Db;
  keyRing: PayloadKeyRing;
  gateway: ClassifierGateway;
  log: Logger;
}

export class ProxyGuard {
  private readonly vault: PiiVault;
  private readonly reveal: PiiReveal;
  // As a worker's guards do: a policy change holds here within the cache's few seconds.
  private readonly policies: GuardrailPolicies;

  constructor(private readonly deps: ProxyGuardDeps) {
    this.vault = new PiiVault(deps.db, deps.keyRing);
    this.reveal = new PiiReveal(deps.db, deps.keyRing);
    this.policies = new GuardrailPolicies(deps.db);
  }

  /**
   * A request's messages through the input guard. The result says whether it was refused (and
   * with what), and carries the masked messages to send and the guard for its answer.
   * `toolNames` are the tools the request offers: text that orders one used is an injection signal.
   */
  async screen(principal: Principal, messages: ChatMessage[], toolNames: string[], signal?: AbortSignal): Promise<GuardedRequest> {
    const policy = await this.policies.current(principal.tenantId);
    const request = new GuardedRequest(
      { vault: this.vault, gateway: this.deps.gateway, toolNames },
      this.reveal,
      this.deps.log,
      policy,
      principal,
      `proxy_${randomUUID()}`,
      signal,
    );
    await request.screen(messages);
    return request;
  }
}

/** A text of the history that is masked like a task's conversation, and where it goes back. */
interface Slot {
  text: string;
  put(masked: string): void;
}

export class GuardedRequest {
  verdict: GuardVerdict = 'passed';
  /** Set when the input guard refused the request: the stock response to answer with. */
  refusal: string | undefined;
  /** The messages to send the model: PII masked. */
  messages: ChatMessage[] = [];
  private question = '';

  constructor(
    private readonly services: GuardServices,
    private readonly reveal: PiiReveal,
    private readonly log: Logger,
    private readonly policy: VersionedPolicy,
    private readonly principal: Principal,
    /** The request's vault scope. */
    readonly id: string,
    private readonly signal?: AbortSignal,
  ) {}

  private get tenantId(): string {
    return this.principal.tenantId;
  }

  async screen(messages: ChatMessage[]): Promise<void> {
    const out = messages.map((m): ChatMessage => (m.role === 'assistant' && m.toolCalls ? { ...m, toolCalls: m.toolCalls.map((c) => ({ ...c })) } : { ...m }));
    const users = out.flatMap((m, i) => (m.role === 'user' ? [i] : []));
    const slots: Slot[] = [];
    for (const m of out) {
      if (m.role === 'tool' || m.role === 'assistant') {
        if (m.content) slots.push({ text: m.content, put: (t) => (m.content = t) });
        if (m.role === 'assistant') for (const c of m.toolCalls ?? []) slots.push({ text: c.arguments, put: (t) => (c.arguments = t) });
      }
    }
    for (const [k, i] of users.entries()) {
      const last = k === users.length - 1;
      const message = out[i]!;
      const guarded = await guardInput(
        this.services,
        this.policy,
        {
          tenantId: this.tenantId,
          vaultTaskId: this.id,
          text: message.content,
          // The rest of the history is masked with the turn that arrives (its checks are the input's own).
          conversation: last ? slots.map((s) => ({ role: 'assistant' as const, content: s.text })) : undefined,
          userTurns: k + 1,
        },
        this.signal,
      );
      logGuardChecks(this.log, 'proxy input guard', this.tenantId, this.id, guarded.checks);
      // Handoff triggers judge the turn that arrives; an earlier turn's were judged when it did.
      if (guarded.action === 'refuse' || (last && guarded.action === 'handoff')) {
        this.verdict = 'refused';
        this.refusal = guarded.response ?? this.policy.policy.failure.stockResponse;
        this.log.info({ tenantId: this.tenantId, requestId: this.id, action: guarded.action, reason: guarded.reason }, 'proxy input refused');
        return;
      }
      if (guarded.text !== message.content) this.verdict = 'masked';
      message.content = guarded.text;
      if (last) {
        this.question = guarded.text;
        guarded.conversation.forEach((turn, n) => {
          if (turn.content !== slots[n]!.text) this.verdict = 'masked';
          slots[n]!.put(turn.content);
        });
      }
    }
    this.messages = out;
  }

  /** A whole answer through the output checks: what the caller gets, or a refusal. */
  async answer(result: ChatResult): Promise<{ refused: boolean; content: string | null; toolCalls: ToolCall[] }> {
    if (!result.content.trim() && result.toolCalls.length) {
      return { refused: false, content: null, toolCalls: await this.forCaller(result.toolCalls) };
    }
    const checked = await this.checkAnswer(result.content);
    if (!checked.passed) return { refused: true, content: this.policy.policy.failure.stockResponse, toolCalls: [] };
    const content = checked.text === result.content.trim() ? result.content : checked.text;
    return { refused: false, content: await this.forCaller(content), toolCalls: await this.forCaller(result.toolCalls) };
  }

  /**
   * The gate a streamed answer passes: each sentence checked, masked and then handed to `write`
   * (restored for a pii:read caller), in order; a failing one and all after it never are.
   */
  sentences(write: (text: string) => void): GuardedSentences {
    const policy = this.policy.policy;
    return new GuardedSentences(this.services.vault, policy, { tenantId: this.tenantId, taskId: this.id }, [], {
      release: async (sentence, leading) => {
        if (this.verdict === 'passed' && sentence.search(PLACEHOLDER_PATTERN) >= 0) this.verdict = 'masked';
        write(leading + (await this.forCaller(sentence)));
      },
      hold: async (reason) => {
        this.verdict = 'refused';
        this.log.info({ tenantId: this.tenantId, requestId: this.id, check: reason }, 'proxy stream held a sentence');
      },
    });
  }

  /** A streamed answer is complete: true when it ends refused (a sentence held, or the answer's checks failed). */
  async endStream(gate: GuardedSentences, content: string): Promise<boolean> {
    const { held } = await gate.end();
    if (held) return true;
    return !(await this.checkAnswer(content)).passed;
  }

  private async checkAnswer(answer: string) {
    const checked = await guardOutput(this.services, this.policy, { tenantId: this.tenantId, vaultTaskId: this.id, answer, question: this.question, passages: [], format: 'text' }, this.signal);
    logGuardChecks(this.log, 'proxy output guard', this.tenantId, this.id, checked.checks);
    if (!checked.passed) {
      this.verdict = 'refused';
      this.log.info({ tenantId: this.tenantId, requestId: this.id, failures: checked.failures }, 'proxy answer refused');
    } else if (checked.text !== answer.trim() && this.verdict === 'passed') this.verdict = 'masked';
    return checked;
  }

  private forCaller<T>(value: T): Promise<T> {
    return this.reveal.forCaller(this.principal, this.id, value);
  }
}
