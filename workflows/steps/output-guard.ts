// The output guard as a recorded step: answerQuestion checks a cited answer against its
// passages, runAgent a free-text answer against the evidence of its turn.
import type { Activities } from '../../activities/index.js';
import { summaries, withSummary } from '../policy/summaries.js';
import type { Steps } from './input-guard.js';
import type { Checked } from './settle-answer.js';

export type OutputGuardArgs = Parameters<Activities['guardOutput']>[0];

export function guardOutputStep(steps: Steps, activities: Pick<Activities, 'guardOutput'>, args: OutputGuardArgs): Promise<Checked> {
  return steps.run(
    'output_guard',
    () => withSummary(activities.guardOutput, summaries.guardOutput(args.format), args),
    (o) => ({ latencyMs: o.latencyMs, usage: o.usage, detail: { passed: o.passed, failures: o.failures, checks: o.checks } }),
  );
}
