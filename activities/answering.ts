// The two model-backed steps of an answer, and their activities: making the question stand
// alone, and writing a cited answer from retrieved passages (streamed through the output checks
// when the workflow asks). Prompts keep a stable prefix (system text first) so providers'
// prompt caches can reuse it.
import { ApplicationFailure } from '@temporalio/common';
import type { Citation } from '../contracts/answer.js';
import type { ActivityDeps } from './deps.js';
import type { ModelGateway } from './gateway/gateway.js';
import type { ContextFit, ContextOverflow } from './gateway/context-fit.js';
import type { Attempt, CacheOutcome, CallContext, ChatMessage, ConversationTurn, Usage } from './gateway/types.js';
import type { Passage } from './retrieval/types.js';
import { GuardedAnswerStream } from './guardrails/answer-stream.js';
import { delimitUntrusted, UNTRUSTED_CONTENT_NOTICE } from './guardrails/injection.js';
import type { TaskPolicy } from './guardrails/policy.js';
import type { PiiVault } from './guardrails/vault.js';
import { heartbeating } from './heartbeat.js';
import { NOT_FOUND_ANSWER, passageText } from './text.js';
import type { PromptUse } from '../contracts/prompts.js';
import { builtinPrompt, promptUse, renderPrompt, resolvePrompt } from './prompts/store.js';

export interface RewriteInput {
  question: string;
  conversation: ConversationTurn[];
  model?: string;
  context: CallContext;
}

/** Set by the activity wrapper: aborts the model call when the task is cancelled. */
export interface Abortable {
  signal?: AbortSignal;
}

export interface RewriteOutput {
  resolved: boolean;
  standalone?: string;
  missing?: string;
  model: string;
  usage: Usage;
  latencyMs: number;
  /** The prompt version the call used (the step's detail records it). */
  prompt?: PromptUse;
}

export async function rewriteQuestion(gateway: ModelGateway, input: RewriteInput, { signal }: Abortable = {}): Promise<RewriteOutput> {
  const transcript = input.conversation.map((t) => `${t.role}: ${t.content}`).join('\n');
  const prompt = await resolvePrompt(gateway, 'rewrite.system', input.context);
  const messages: ChatMessage[] = [
    { role: 'system', content: renderPrompt(prompt) },
    { role: 'user', content: `Conversation:\n${transcript}\n\nLatest message: ${input.question}` },
  ];
  const res = await gateway.chat(
    { messages, model: input.model, responseFormat: 'json', maxTokens: 200, temperature: 0, signal, prompt: promptUse(prompt), offline: { kind: 'rewrite', question: input.question, conversation: input.conversation } },
    { ...input.context, step: 'rewrite_query' },
  );
  let parsed: { resolved?: unknown; standalone?: unknown; missing?: unknown };
  try {
    parsed = JSON.parse(res.content) as typeof parsed;
  } catch {
    // A model that ignores JSON mode is a transient failure: retrying usually fixes it.
    throw new Error(`rewrite model ${res.model} returned malformed JSON`);
  }
  const resolved = parsed.resolved !== false && typeof parsed.standalone === 'string' && parsed.standalone.trim() !== '';
  return {
    resolved,
    standalone: resolved ? String(parsed.standalone).trim() : undefined,
    missing: resolved ? undefined : typeof parsed.missing === 'string' ? parsed.missing : 'the question refers to something the conversation does not establish',
    model: res.model,
    usage: res.usage,
    latencyMs: res.latencyMs,
    prompt: promptUse(prompt),
  };
}

export interface GenerateInput {
  question: string;
  /** Passages in the order the prompt should show them (strongest at the start and end). */
  passages: Passage[];
  model?: string;
  context: CallContext;
  /** Why the previous answer failed its checks (a retry feeds the failure back). */
  feedback?: string;
  /** Above the default for best-of-n, so the candidates differ. */
  temperature?: number;
  /** Ask for log-probabilities (best-of-n by mean log-probability). */
  logprobs?: boolean;
  /** Stream the answer through the output checks to the task's event stream (this attempt). */
  stream?: { attempt: number };
  /** The route's rule for a prompt that outgrows the model's window (context-fit.ts). */
  overflow?: ContextOverflow;
}

export interface GenerateOutput {
  answer: string;
  citations: Citation[];
  model: string;
  usage: Usage;
  latencyMs: number;
  attempts: Attempt[];
  meanLogprob?: number;
  /** What the gateway did to make the prompt fit the model's window. */
  contextFit?: ContextFit;
  /** The response cache's outcome (hit, stored, uncacheable), when the cache is on. */
  cache?: CacheOutcome;
  /** Set when streamed: sentences released, and the check that held the rest back. */
  streamed?: { released: number; held?: string };
  /** The prompt version the call used (the step's detail records it). */
  prompt?: PromptUse;
}

/** `system` is the answer prompt's text (a tenant's version); the built-in one by default. The injection notice always follows it. */
export function buildAnswerMessages(question: string, passages: Passage[], feedback?: string, system = renderPrompt(builtinPrompt('answer.system'))): ChatMessage[] {
  // Passages are the tenant's documents: untrusted text, delimited so it cannot pose as instructions.
  const context = passages
    .map((p, i) => `[${i + 1}] ${delimitUntrusted(`${[p.title, p.heading].filter(Boolean).join(' — ')}\n${p.text}`, `passage ${i + 1}`)}`)
    .join('\n\n');
  const messages: ChatMessage[] = [
    { role: 'system', content: `${system}\n${UNTRUSTED_CONTENT_NOTICE}` },
    { role: 'user', content: `Passages:\n\n${context}\n\nQuestion: ${question}` },
  ];
  if (feedback) messages.push({ role: 'user', content: `Your previous answer was not accepted.\n${feedback}\nWrite the answer again.` });
  return messages;
}

export function extractCitations(answer: string, passages: Passage[]): Citation[] {
  const indices = [...new Set([...answer.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))];
  return indices
    .filter((i) => i >= 1 && i <= passages.length)
    .sort((a, b) => a - b)
    .map((i) => {
      const p = passages[i - 1]!;
      return {
        index: i,
        chunkId: p.chunkId,
        documentId: p.documentId,
        title: p.title,
        heading: p.heading,
        source: p.source,
        snippet: p.text.length > 240 ? `${p.text.slice(0, 237)}...` : p.text,
      };
    });
}

export async function generateAnswer(gateway: ModelGateway, input: GenerateInput, { signal, onDelta }: Abortable & { onDelta?: (text: string) => void } = {}): Promise<GenerateOutput> {
  if (!input.question.trim()) throw ApplicationFailure.nonRetryable('question is empty', 'InvalidInput');
  if (input.passages.length === 0) {
    // Nothing retrieved: say so without spending a model call.
    return { answer: NOT_FOUND_ANSWER, citations: [], model: 'none', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, latencyMs: 0, attempts: [] };
  }
  const prompt = await resolvePrompt(gateway, 'answer.system', input.context);
  const res = await gateway.chat(
    {
      messages: buildAnswerMessages(input.question, input.passages, input.feedback, renderPrompt(prompt)),
      prompt: promptUse(prompt),
      model: input.model,
      maxTokens: 600,
      temperature: input.temperature ?? 0.1,
      signal,
      onDelta,
      logprobs: input.logprobs,
      overflow: input.overflow,
      offline: { kind: 'answer', question: input.question, passages: input.passages },
    },
    { ...input.context, step: 'generate' },
  );
  const answer = res.content.trim();
  return {
    answer,
    citations: extractCitations(answer, input.passages),
    model: res.model,
    usage: res.usage,
    latencyMs: res.latencyMs,
    attempts: res.attempts,
    meanLogprob: res.meanLogprob,
    ...(res.contextFit ? { contextFit: res.contextFit } : {}),
    ...(res.cache ? { cache: res.cache } : {}),
    prompt: promptUse(prompt),
  };
}

export function createAnsweringActivities(deps: Pick<ActivityDeps, 'db' | 'gateway' | 'config'>, shared: { vault: PiiVault }) {
  return {
    /** Rewrites with GATEHOUSE_REWRITE_MODEL when the deployment names one, else with the task's model. */
    async rewriteQuestion(input: RewriteInput): Promise<RewriteOutput> {
      const model = deps.config.models?.rewriteModel ?? input.model;
      return heartbeating((signal) => rewriteQuestion(deps.gateway, { ...input, model }, { signal }));
    },

    /**
     * Write the answer. With `stream`, it reaches the task's event stream sentence by sentence,
     * each sentence released only once the output checks passed on it.
     */
    async generateAnswer(input: GenerateInput & { policy?: TaskPolicy; taskId?: string }): Promise<GenerateOutput> {
      if (!input.stream || !input.policy || !input.taskId) return heartbeating((signal) => generateAnswer(deps.gateway, input, { signal }));
      const stream = new GuardedAnswerStream(deps.db, shared.vault, input.policy.policy, { tenantId: input.context.tenantId ?? '', taskId: input.taskId }, input.passages.map(passageText), input.stream.attempt);
      await stream.begin();
      let streamed = false;
      const out = await heartbeating((signal) =>
        generateAnswer(deps.gateway, input, {
          signal,
          onDelta: (d) => {
            streamed = true;
            stream.push(d);
          },
        }),
      );
      if (!streamed) stream.push(out.answer); // answered without the model (nothing retrieved)
      return { ...out, streamed: await stream.end() };
    },
  };
}
