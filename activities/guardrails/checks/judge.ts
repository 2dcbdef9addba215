// judge: an optional model that grades the answer against the tenant's rubric, given the
// question and the context. It runs last and only on an answer that passed every other check:
// it costs a model call, and a failing answer is remedied anyway. A judge that fails to answer
// flags the answer, never fails it.
import { z } from 'zod';
import { storableString } from '../../../infra/input-limits.js';
import { modelName, POLICY_LIMITS } from '../policy-fields.js';
import { outputCheck } from './types.js';

const judgePolicy = z.object({ model: modelName, rubric: storableString(POLICY_LIMITS.maxTextChars).min(10), minScore: z.number().min(0).max(1).default(0.6) }).optional();

export const judge = outputCheck({
  name: 'judge',
  policy: judgePolicy,
  checkAnswer: async ({ answer, shown, question, passages, failedSoFar }, settings, { classifiers }) => {
    if (!settings || !answer || failedSoFar.length > 0) return undefined;
    const context = passages.map((x, i) => `[${i + 1}] ${x.slice(0, 600)}`).join('\n');
    const verdict = await classifiers.ask('judge', settings.model, shown, `Rubric: ${settings.rubric}\n\nQuestion: ${question}\n\nContext:\n${context}`);
    if (verdict instanceof Error) return { rows: [{ check: 'judge', verdict: 'flag', latencyMs: 0, detail: { error: verdict.message } }], failed: false };
    const failed = verdict.score < settings.minScore;
    const row = { check: 'judge', verdict: failed ? ('fail' as const) : ('pass' as const), latencyMs: verdict.latencyMs, detail: { model: verdict.model, score: verdict.score, reason: verdict.reason } };
    if (!failed) return { rows: [row], failed, score: verdict.score };
    return { rows: [row], failed, score: verdict.score, feedback: `A reviewer scored your previous answer ${verdict.score.toFixed(2)}: ${verdict.reason ?? 'it does not meet the rubric'}.` };
  },
});
