// empty: an answer with no text in it.
import { outputCheck } from './types.js';

export const empty = outputCheck({
  name: 'empty',
  checkAnswer: ({ answer }) =>
    answer
      ? { rows: [{ check: 'empty', verdict: 'pass', latencyMs: 0 }], failed: false }
      : { rows: [{ check: 'empty', verdict: 'fail', latencyMs: 0 }], failed: true, feedback: 'Your previous answer was empty. Answer the question.' },
});
