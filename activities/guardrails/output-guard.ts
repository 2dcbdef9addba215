// The output guard: every answer passes it before anyone sees it. It runs the output checks
// (checks/index.ts) in their order, each on the answer as the checks before it left it (PII
// masked), and sums up what they found. What happens on a failure is the workflow's decision
// (workflows/policy/output-failures.ts); this only reports.
import type { Usage } from '../gateway/types.js';
import { ClassifierCalls } from './classifier.js';
import { OUTPUT_CHECK_UNITS, settingsOf } from './checks/index.js';
import type { AnswerUnderCheck, CheckTools, OutputCheckUnit } from './checks/types.js';
import type { GuardServices } from './input-guard.js';
import type { GuardrailPolicy, OutputCheck } from './policy.js';
import type { GuardCheck } from './types.js';
import { roundMs } from './timing.js';

export interface OutputGuardInput {
  tenantId: string;
  vaultTaskId: string;
  answer: string;
  question: string;
  /** The context the answer was written from: grounding and the judge read it. */
  passages: string[];
  /** Cited answers ([n] markers) are held to the citation contract; agent answers are free text. */
  format: 'cited' | 'text';
  /** Set for answers that say nothing was found: there is nothing to ground. */
  notFound?: boolean;
  /** 'report' flags unsupported sentences without failing the answer (agents: see workflows/agent/answers.ts). */
  grounding?: 'enforce' | 'report';
}

export interface OutputGuardOutput {
  passed: boolean;
  failures: OutputCheck[];
  /** A failure that goes to a reviewer whatever the ladder says (brand terms under `review`). */
  forceHandoff: boolean;
  /** The answer with PII of masked classes replaced by placeholders: what may be shown. */
  text: string;
  checks: GuardCheck[];
  /** Sentences the context does not support (masked). */
  unsupported: string[];
  /** 0..1, higher is better: the judge's score, else the share of checks passed. */
  score: number;
  /** What a retry tells the model about its previous answer. */
  feedback: string;
  latencyMs: number;
  usage: Usage;
}

// Iterated as any check: each reads its own section of the policy, through settingsOf.
const CHECKS: readonly OutputCheckUnit[] = OUTPUT_CHECK_UNITS;

export async function guardOutput(
  services: GuardServices,
  policy: { version: number; policy: GuardrailPolicy },
  input: OutputGuardInput,
  signal?: AbortSignal,
): Promise<OutputGuardOutput> {
  const classifiers = new ClassifierCalls(services.gateway, { tenantId: input.tenantId, taskId: input.vaultTaskId }, signal);
  const tools: CheckTools = {
    classifiers,
    mask: async (text, spans) => (await services.vault.mask({ tenantId: input.tenantId, taskId: input.vaultTaskId }, text, spans)).text,
  };
  const started = performance.now();
  const answer = input.answer.trim();
  const failures: OutputCheck[] = [];
  let subject: AnswerUnderCheck = {
    answer,
    shown: answer,
    question: input.question,
    passages: input.passages,
    format: input.format,
    notFound: input.notFound ?? false,
    grounding: input.grounding ?? 'enforce',
    pii: policy.policy.pii.output,
    failedSoFar: [],
  };
  const checks: GuardCheck[] = [];
  const feedback: string[] = [];
  const unsupported: string[] = [];
  let forceHandoff = false;
  let judged: number | undefined;

  for (const check of CHECKS) {
    const found = await check.checkAnswer(subject, settingsOf(check, policy.policy.output), tools);
    if (!found) continue;
    checks.push(...found.rows);
    if (found.shown !== undefined) subject = { ...subject, shown: found.shown };
    if (found.unsupported) unsupported.push(...found.unsupported);
    if (found.score !== undefined) judged = found.score;
    if (found.failed) {
      failures.push(check.name);
      subject = { ...subject, failedSoFar: [...failures] };
      if (found.feedback) feedback.push(found.feedback);
      forceHandoff ||= found.forceHandoff ?? false;
    }
  }

  return {
    passed: failures.length === 0,
    failures,
    forceHandoff,
    text: subject.shown,
    checks,
    unsupported,
    score: judged ?? 1 - failures.length / CHECKS.length,
    feedback: feedback.join('\n'),
    latencyMs: roundMs(performance.now() - started - classifiers.modelMs),
    usage: classifiers.usage,
  };
}
