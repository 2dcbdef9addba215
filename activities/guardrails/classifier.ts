// The optional model-backed checks: an injection classifier, a topic classifier, a toxicity
// scorer and an answer judge, each one question to a model through the gateway with a JSON
// reply. They complement the heuristics; a model that fails or answers nonsense never
// blocks anything by itself (the heuristic verdict stands and the step says why).
import type { ModelGateway } from '../gateway/gateway.js';
import type { CallContext, Usage } from '../gateway/types.js';
import { delimitUntrusted, UNTRUSTED_CONTENT_NOTICE } from './injection.js';
import type { PromptName } from '../../contracts/prompts.js';
import { promptUse, renderPrompt, resolvePrompt, type PromptSource } from '../prompts/store.js';

export type ClassifierKind = 'injection' | 'scope' | 'toxicity' | 'judge';

export interface ClassifierVerdict {
  /** 0..1: likelihood of injection / out of scope / toxicity; for the judge, the answer's quality. */
  score: number;
  reason?: string;
  model: string;
  usage: Usage;
  latencyMs: number;
}

/** Each check's versioned prompt (activities/prompts/catalog.ts holds the built-in texts). */
const PROMPTS = { injection: 'guard.injection', scope: 'guard.scope', toxicity: 'guard.toxicity', judge: 'guard.judge' } as const satisfies Record<ClassifierKind, PromptName>;

/** What the checks need of the gateway: its `chat` (the API's proxy hands in its process's gateway). */
export type ClassifierGateway = Pick<ModelGateway, 'chat'> & { prompts?: PromptSource };

export async function classifyWithModel(
  gateway: ClassifierGateway,
  opts: { kind: ClassifierKind; model: string; text: string; extra?: string; context: CallContext; signal?: AbortSignal },
): Promise<ClassifierVerdict> {
  const prompt = await resolvePrompt(gateway, PROMPTS[opts.kind], opts.context);
  const res = await gateway.chat(
    {
      prompt: promptUse(prompt),
      model: opts.model,
      responseFormat: 'json',
      temperature: 0,
      maxTokens: 120,
      signal: opts.signal,
      // Remote models read the messages; the offline local model reads this.
      offline: { kind: 'classify', task: opts.kind, text: opts.text },
      messages: [
        { role: 'system', content: `${renderPrompt(prompt)}\n${UNTRUSTED_CONTENT_NOTICE}` },
        { role: 'user', content: `${opts.extra ? `${opts.extra}\n\n` : ''}${delimitUntrusted(opts.text, 'text to classify')}` },
      ],
    },
    { ...opts.context, step: `guard_${opts.kind}` },
  );
  let parsed: { score?: unknown; reason?: unknown };
  try {
    parsed = JSON.parse(res.content) as typeof parsed;
  } catch {
    throw new Error(`classifier ${res.model} returned malformed JSON`);
  }
  const score = Number(parsed.score);
  if (!Number.isFinite(score) || score < 0 || score > 1) throw new Error(`classifier ${res.model} returned no score between 0 and 1`);
  return { score, reason: typeof parsed.reason === 'string' ? parsed.reason.slice(0, 200) : undefined, model: res.model, usage: res.usage, latencyMs: res.latencyMs };
}

/**
 * One guard's calls to classifier models: each returns the verdict, or the error (the
 * heuristic verdict then stands); the tokens and time they spend are summed, because model
 * time is not the guard's own latency.
 */
export class ClassifierCalls {
  usage: Usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  modelMs = 0;

  constructor(
    private readonly gateway: ClassifierGateway,
    private readonly context: CallContext,
    private readonly signal?: AbortSignal,
  ) {}

  async ask(kind: ClassifierKind, model: string, text: string, extra?: string): Promise<ClassifierVerdict | Error> {
    try {
      const v = await classifyWithModel(this.gateway, { kind, model, text, extra, context: this.context, signal: this.signal });
      this.modelMs += v.latencyMs;
      this.usage = {
        inputTokens: this.usage.inputTokens + v.usage.inputTokens,
        outputTokens: this.usage.outputTokens + v.usage.outputTokens,
        costUsd: Math.round((this.usage.costUsd + v.usage.costUsd) * 1e8) / 1e8,
      };
      return v;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }
}
