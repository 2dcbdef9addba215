// pii_leak: PII or credentials in an answer, found by the input's detectors. Classes the policy
// masks are replaced by the task's placeholders (what is shown from here on); a class it blocks
// fails the answer. Placeholders are masked values already: detectPii skips them.
import { countByClass, detectPii } from '../pii.js';
import { roundMs, timed } from '../timing.js';
import type { GuardCheck, PiiSpan } from '../types.js';
import { outputCheck, type OutputPiiActions } from './types.js';

const blockedIn = (spans: PiiSpan[], pii: OutputPiiActions) => spans.filter((s) => pii[s.type] === 'block');

export const piiLeak = outputCheck({
  name: 'pii_leak',
  checkAnswer: async ({ answer, pii }, _settings, tools) => {
    const [spans, ms] = timed(() => detectPii(answer));
    const blocked = blockedIn(spans, pii);
    const toMask = spans.filter((s) => pii[s.type] === 'mask');
    const verdict = blocked.length ? 'fail' : toMask.length ? 'flag' : 'pass';
    const detail = spans.length ? { found: countByClass(spans), masked: toMask.length, blocked: countByClass(blocked) } : undefined;
    const rows: GuardCheck[] = [{ check: 'pii_leak', verdict, latencyMs: ms, detail }];
    let shown: string | undefined;
    if (toMask.length) {
      const t0 = performance.now();
      shown = await tools.mask(answer, toMask);
      rows.push({ check: 'pii_mask', verdict: 'flag', latencyMs: roundMs(performance.now() - t0), detail: { masked: toMask.length } });
    }
    if (!blocked.length) return { rows, failed: false, shown };
    const classes = [...new Set(blocked.map((s) => s.type.toLowerCase().replaceAll('_', ' ')))];
    return { rows, failed: true, shown, feedback: `Your previous answer contained ${classes.join(', ')}. Never include such values.` };
  },
  sentenceCheck: (_settings, { pii }) => (sentence) => blockedIn(detectPii(sentence), pii).length > 0,
});
