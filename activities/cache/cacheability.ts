// What may be cached, and for whom: rules over the request's latest user message. Time-sensitive
// questions ("the weather today", "current status") are not cached at all — a stored answer would
// be wrong tomorrow. User-specific ones ("my order") and anything carrying masked PII (a
// placeholder such as [EMAIL_ADDRESS_1]) are kept to the user who asked, never shared; without a
// known user they are not cached. Everything else is shared within the tenant, never beyond it.
//
// Optionally a small model is asked too (GATEHOUSE_CACHE_CLASSIFIER_MODEL, through the gateway),
// and only about what the rules would share: the rules' refusals and restrictions always stand,
// the model can only narrow (tenant → user or none), never widen. Its question is never cached or
// classified itself, it is held to the caller's limits, and a model that fails leaves the rules'
// verdict (logged). Its verdicts are kept per process by question text.
import type { Logger } from '../../infra/logger.js';
import type { CallContext, ChatRequest, ChatResult } from '../gateway/types.js';
import { delimitUntrusted, UNTRUSTED_CONTENT_NOTICE } from '../guardrails/injection.js';
import { promptUse, renderPrompt, resolvePrompt, type PromptSource } from '../prompts/store.js';

/** Above this temperature a request samples: its answer is one draw of many, not the answer. */
export const SAMPLING_TEMPERATURE = 0.2;

export type Cacheability = { scope: 'tenant' } | { scope: 'user'; reason: string } | { scope: 'none'; reason: string };

const TIME_SENSITIVE = /\b(today|tonight|tomorrow|yesterday|now|right now|currently|current|latest|this (?:week|month|year|morning|afternoon|evening)|at the moment|weather|news|live)\b/i;
// What belongs to the asker ("my order", "our invoice", "I ordered"), not a generic first person
// ("how do I clear a jam?", "tell me the fee"), which anyone may ask the same way.
const FIRST_PERSON = /\b(my|mine|our|ours|i (?:ordered|bought|paid|returned|sent|received|placed|was charged|have an?|had an?))\b/i;
const PLACEHOLDER = /\[[A-Z_]+_\d+\]/;

/** The word that makes a text time-sensitive, if one does. */
export function timeSensitive(text: string): string | undefined {
  return TIME_SENSITIVE.exec(text)?.[0];
}

/** Whether a text carries a PII placeholder: its value is one task's, not anyone else's. */
export function carriesPlaceholder(text: string): boolean {
  return PLACEHOLDER.test(text);
}

export function cacheability(text: string): Cacheability {
  const time = timeSensitive(text);
  if (time) return { scope: 'none', reason: `time-sensitive ("${time}")` };
  if (carriesPlaceholder(text)) return { scope: 'user', reason: 'carries masked PII' };
  const person = FIRST_PERSON.exec(text);
  if (person) return { scope: 'user', reason: `user-specific ("${person[0]}")` };
  return { scope: 'tenant' };
}

/** What the classifier needs of the gateway: one call (the gateway hands in its own `chat`). */
export type ClassifierChat = (req: ChatRequest, ctx: CallContext) => Promise<ChatResult>;

/** Verdicts remembered per process: a question asked again is not asked of the model again. */
const MEMO_SIZE = 1_000;

export class CacheabilityClassifier {
  private readonly memo = new Map<string, Cacheability>();

  constructor(
    private readonly chat: ClassifierChat,
    readonly model: string,
    private readonly log?: Logger,
    /** The tenant's version of the classifier's prompt (activities/prompts/); the built-in one when absent. */
    private readonly prompts?: PromptSource,
  ) {}

  /** The rules' verdict, narrowed by the model when the rules would share the entry within the tenant. */
  async check(question: string, ctx: CallContext, signal?: AbortSignal): Promise<Cacheability> {
    const rules = cacheability(question);
    if (rules.scope !== 'tenant') return rules;
    const known = this.memo.get(question);
    if (known) return known;
    let verdict: Cacheability;
    try {
      verdict = await this.ask(question, ctx, signal);
    } catch (err) {
      this.log?.warn({ err: String(err), model: this.model, tenantId: ctx.tenantId, taskId: ctx.taskId }, 'cache classifier failed; the rules decide');
      return rules;
    }
    if (this.memo.size >= MEMO_SIZE) this.memo.delete(this.memo.keys().next().value!);
    this.memo.set(question, verdict);
    return verdict;
  }

  private async ask(question: string, ctx: CallContext, signal?: AbortSignal): Promise<Cacheability> {
    const prompt = await resolvePrompt({ prompts: this.prompts }, 'cache.classifier', ctx);
    const res = await this.chat(
      {
        prompt: promptUse(prompt),
        model: this.model,
        responseFormat: 'json',
        temperature: 0,
        maxTokens: 80,
        signal,
        skipCache: true,
        offline: { kind: 'cacheability', question },
        messages: [
          { role: 'system', content: `${renderPrompt(prompt)}\n${UNTRUSTED_CONTENT_NOTICE}` },
          { role: 'user', content: delimitUntrusted(question, 'question') },
        ],
      },
      // The caller's own call, held to its limits; a request id of its own, so its reservation is not the caller's.
      { ...ctx, step: 'cache_classify', requestId: ctx.requestId && `${ctx.requestId}/cache_classify` },
    );
    let parsed: { scope?: unknown; reason?: unknown };
    try {
      parsed = JSON.parse(res.content) as typeof parsed;
    } catch {
      throw new Error(`cache classifier ${res.model} returned malformed JSON`);
    }
    const reason = `classifier: ${typeof parsed.reason === 'string' && parsed.reason.trim() ? parsed.reason.trim().slice(0, 200) : String(parsed.scope)}`;
    if (parsed.scope === 'tenant') return { scope: 'tenant' };
    if (parsed.scope === 'user') return { scope: 'user', reason };
    if (parsed.scope === 'none') return { scope: 'none', reason };
    throw new Error(`cache classifier ${res.model} returned no scope of tenant, user or none`);
  }
}
