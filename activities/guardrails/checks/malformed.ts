// malformed: a cited answer that breaks the citation contract (checked with zod). Free-text
// answers (agents) and answers that say nothing was found have no contract to break.
import { z } from 'zod';
import { timed } from '../timing.js';
import { outputCheck } from './types.js';

/** The contract of a cited answer: some text, and citations only to passages that exist. */
export function citedAnswerSchema(passageCount: number) {
  return z.object({
    answer: z.string().trim().min(1, 'the answer is empty'),
    citations: z.array(z.number().int().min(1).max(Math.max(1, passageCount), `cites a passage that does not exist (there are ${passageCount})`)),
  });
}

export const malformed = outputCheck({
  name: 'malformed',
  checkAnswer: ({ answer, format, notFound, passages }) => {
    if (!answer || format !== 'cited' || notFound) return undefined;
    const [parsed, ms] = timed(() => citedAnswerSchema(passages.length).safeParse({ answer, citations: [...answer.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])) }));
    if (parsed.success) return { rows: [{ check: 'malformed', verdict: 'pass', latencyMs: ms }], failed: false };
    const issue = parsed.error.issues[0]!.message;
    return {
      rows: [{ check: 'malformed', verdict: 'fail', latencyMs: ms, detail: { issue } }],
      failed: true,
      feedback: `Your previous answer broke the citation format: it ${issue}. Cite only passages [1] to [${passages.length}].`,
    };
  },
});
