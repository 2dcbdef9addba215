// A judge model's verdict on two answers to one query, asked through the gateway (so the
// caller's allow-lists, budgets and rate limits hold) and returned as a preference.
//
// Judges favour whichever answer they read first (position bias, Zheng et al. 2023, "Judging
// LLM-as-a-judge"), so the pair is judged twice, once in each order: a verdict both orders
// agree on stands; any disagreement is recorded as a tie, which is what it tells us.
import type { Preference } from '../../contracts/preferences.js';
import { addUsage } from '../../contracts/task.js';
import type { CallContext, ChatRequest, ChatResult, Usage } from '../gateway/types.js';
import { delimitUntrusted, UNTRUSTED_CONTENT_NOTICE } from '../guardrails/injection.js';
import { promptUse, renderPrompt, resolvePrompt, type PromptSource } from '../prompts/store.js';

export interface JudgeGateway {
  chat(req: ChatRequest, ctx: CallContext): Promise<ChatResult>;
  /** The tenant's version of the judge's prompt; the built-in one when absent. */
  prompts?: PromptSource;
}

export interface JudgeInput {
  query: string;
  answers: [{ model: string; text: string }, { model: string; text: string }];
  judgeModel: string;
  context: CallContext;
}

type Verdict = 'first' | 'second' | 'tie';

export interface JudgeResult {
  preference: Preference;
  /** The verdict of each order: [answers as given, answers swapped], in terms of answers[0] and answers[1]. */
  verdicts: [Verdict, Verdict];
  reasons: string[];
  usage: Usage;
}

export class JudgeReplyError extends Error {}

export async function judgePair(gateway: JudgeGateway, input: JudgeInput): Promise<JudgeResult> {
  const [a, b] = input.answers;
  if (a.model === b.model) throw new JudgeReplyError('the two answers must come from two different models');
  const asked = await Promise.all([ask(gateway, input, a.text, b.text, 'given'), ask(gateway, input, b.text, a.text, 'swapped')]);
  const given = asked[0].better === 'A' ? 'first' : asked[0].better === 'B' ? 'second' : 'tie';
  const swapped = asked[1].better === 'A' ? 'second' : asked[1].better === 'B' ? 'first' : 'tie';
  const verdict: Verdict = given === swapped ? given : 'tie';
  const winner = verdict === 'second' ? b : a;
  const loser = verdict === 'second' ? a : b;
  return {
    preference: { query: input.query, winner: winner.model, loser: loser.model, tie: verdict === 'tie' || undefined, source: 'judge' },
    verdicts: [given, swapped],
    reasons: asked.map((r) => r.reason).filter((r): r is string => !!r),
    usage: addUsage(asked[0].usage, asked[1].usage),
  };
}

async function ask(gateway: JudgeGateway, input: JudgeInput, first: string, second: string, order: 'given' | 'swapped'): Promise<{ better: 'A' | 'B' | 'tie'; reason?: string; usage: Usage }> {
  const prompt = await resolvePrompt(gateway, 'router.judge', input.context);
  const res = await gateway.chat(
    {
      prompt: promptUse(prompt),
      model: input.judgeModel,
      responseFormat: 'json',
      temperature: 0,
      maxTokens: 150,
      messages: [
        { role: 'system', content: `${renderPrompt(prompt)}\n${UNTRUSTED_CONTENT_NOTICE}` },
        {
          role: 'user',
          content: [delimitUntrusted(input.query, 'question'), delimitUntrusted(first, 'answer A'), delimitUntrusted(second, 'answer B')].join('\n\n'),
        },
      ],
    },
    // Two calls, two reservations: one request id would count the second as a retry of the first.
    { ...input.context, step: 'router_judge', requestId: input.context.requestId && `${input.context.requestId}/${order}` },
  );
  let parsed: { better?: unknown; reason?: unknown };
  try {
    parsed = JSON.parse(res.content) as typeof parsed;
  } catch {
    throw new JudgeReplyError(`judge ${res.model} returned malformed JSON`);
  }
  const better = typeof parsed.better === 'string' ? parsed.better.trim().toUpperCase() : '';
  if (better !== 'A' && better !== 'B' && better !== 'TIE') throw new JudgeReplyError(`judge ${res.model} answered neither "A", "B" nor "tie"`);
  return { better: better === 'TIE' ? 'tie' : better, reason: typeof parsed.reason === 'string' ? parsed.reason.slice(0, 200) : undefined, usage: res.usage };
}
