// The output guard: every answer passes it before anyone sees it. Checks: empty; malformed
// (the cited-answer contract, checked with zod); leaked PII or credentials (the input's
// detectors: masked into the vault or, per policy, a failure); brand and competitor terms;
// toxicity (lexicon, plus an optional scorer model); grounding (each sentence against the
// retrieved context); and an optional AI judge with a rubric. What happens on a failure is the
// workflow's decision (workflows/policy/output-failures.ts); this only reports.
import { z } from 'zod';
import type { Usage } from '../gateway/types.js';
import { ClassifierCalls } from './classifier.js';
import { countByClass, type GuardServices } from './input-guard.js';
import { checkBrandTerms, checkGrounding, scoreToxicity, splitSentences } from './output-checks.js';
import { detectPii } from './pii.js';
import type { GuardrailPolicy, OutputCheck } from './policy.js';
import { blankPlaceholders, type GuardCheck } from './types.js';
import { roundMs, timed } from './timing.js';

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
  /** 'report' flags unsupported sentences without failing the answer (agents: see workflows/agent.ts). */
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

/** The contract of a cited answer: some text, and citations only to passages that exist. */
export function citedAnswerSchema(passageCount: number) {
  return z.object({
    answer: z.string().trim().min(1, 'the answer is empty'),
    citations: z.array(z.number().int().min(1).max(Math.max(1, passageCount), `cites a passage that does not exist (there are ${passageCount})`)),
  });
}

export async function guardOutput(
  services: GuardServices,
  policy: { version: number; policy: GuardrailPolicy },
  input: OutputGuardInput,
  signal?: AbortSignal,
): Promise<OutputGuardOutput> {
  const p = policy.policy.output;
  const pii = policy.policy.pii.output;
  const checks: GuardCheck[] = [];
  const failures: OutputCheck[] = [];
  const feedback: string[] = [];
  let forceHandoff = false;
  const classifiers = new ClassifierCalls(services.gateway, { tenantId: input.tenantId, taskId: input.vaultTaskId }, signal);
  const started = performance.now();
  const answer = input.answer.trim();

  // Empty.
  checks.push({ check: 'empty', verdict: answer ? 'pass' : 'fail', latencyMs: 0 });
  if (!answer) {
    failures.push('empty');
    feedback.push('Your previous answer was empty. Answer the question.');
  }

  // Malformed: the citation contract.
  if (answer && input.format === 'cited' && !input.notFound) {
    const [parsed, ms] = timed(() =>
      citedAnswerSchema(input.passages.length).safeParse({ answer, citations: [...answer.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])) }),
    );
    const message = parsed.success ? undefined : parsed.error.issues[0]!.message;
    checks.push({ check: 'malformed', verdict: parsed.success ? 'pass' : 'fail', latencyMs: ms, detail: message ? { issue: message } : undefined });
    if (!parsed.success) {
      failures.push('malformed');
      feedback.push(`Your previous answer broke the citation format: it ${message}. Cite only passages [1] to [${input.passages.length}].`);
    }
  }

  // Leaked PII or credentials (placeholders are masked values already: detectPii skips them).
  const [spans, piiMs] = timed(() => detectPii(answer));
  const blocked = spans.filter((s) => pii[s.type] === 'block');
  const toMask = spans.filter((s) => pii[s.type] === 'mask');
  checks.push({ check: 'pii_leak', verdict: blocked.length ? 'fail' : toMask.length ? 'flag' : 'pass', latencyMs: piiMs, detail: spans.length ? { found: countByClass(spans), masked: toMask.length, blocked: countByClass(blocked) } : undefined });
  if (blocked.length) {
    failures.push('pii_leak');
    feedback.push(`Your previous answer contained ${[...new Set(blocked.map((s) => s.type.toLowerCase().replaceAll('_', ' ')))].join(', ')}. Never include such values.`);
  }
  let text = answer;
  if (toMask.length) {
    const t0 = performance.now();
    text = (await services.vault.mask({ tenantId: input.tenantId, taskId: input.vaultTaskId }, answer, toMask)).text;
    checks.push({ check: 'pii_mask', verdict: 'flag', latencyMs: roundMs(performance.now() - t0), detail: { masked: toMask.length } });
  }

  // Brand risk.
  const [terms, brandMs] = timed(() => checkBrandTerms(answer, { brand: p.brand.brand, competitors: p.brand.competitors, risky: p.brand.risky }));
  const risky = terms.filter((t) => t.kind !== 'brand');
  const brandVerdict = risky.length === 0 || p.brand.action === 'pass' ? (risky.length ? 'flag' : 'pass') : 'fail';
  checks.push({ check: 'brand', verdict: brandVerdict, latencyMs: brandMs, detail: terms.length ? { terms: terms.map((t) => ({ term: t.term, kind: t.kind })), action: p.brand.action } : undefined });
  if (brandVerdict === 'fail') {
    failures.push('brand');
    forceHandoff ||= p.brand.action === 'review';
    feedback.push(`Do not mention ${[...new Set(risky.map((t) => t.term))].join(', ')}.`);
  }

  // Toxicity: the lexicon, then the scorer model if configured.
  const [tox, toxMs] = timed(() => scoreToxicity(answer));
  let toxic = tox.score >= p.toxicity.threshold || tox.toxic;
  const toxDetail: Record<string, unknown> = { score: tox.score, terms: tox.terms.length };
  if (!toxic && p.toxicity.scorerModel && answer) {
    const verdict = await classifiers.ask('toxicity', p.toxicity.scorerModel, text);
    if (verdict instanceof Error) toxDetail.scorerError = verdict.message;
    else {
      toxDetail.scorer = { model: verdict.model, score: verdict.score };
      toxic = verdict.score >= p.toxicity.threshold;
    }
  }
  checks.push({ check: 'toxicity', verdict: toxic ? 'fail' : 'pass', latencyMs: toxMs, detail: toxDetail });
  if (toxic) {
    failures.push('toxicity');
    feedback.push('Your previous answer was not courteous. Answer politely and professionally.');
  }

  // Grounding: every sentence against the retrieved context (placeholders are not claims).
  const unsupported: string[] = [];
  if (answer && input.passages.length && !input.notFound) {
    const [g, ms] = timed(() => checkGrounding(blankPlaceholders(answer), input.passages, { minSupport: p.grounding.minSupport }));
    const original = splitSentences(answer);
    g.sentences.forEach((s, i) => {
      if (!s.supported) unsupported.push(original.length === g.sentences.length ? original[i]!.text : s.text);
    });
    const failed = input.grounding !== 'report' && g.unsupported > p.grounding.maxUnsupported;
    checks.push({ check: 'grounding', verdict: failed ? 'fail' : g.unsupported ? 'flag' : 'pass', latencyMs: ms, detail: { sentences: g.sentences.length, unsupported: g.unsupported, supportedRatio: round(g.supportedRatio) } });
    if (failed) {
      failures.push('grounding');
      feedback.push(`These sentences of your previous answer are not supported by the passages; remove them or support them with a citation: ${unsupported.map((s) => `"${s.slice(0, 160)}"`).join('; ')}`);
    }
  }

  // The judge, last (it costs a model call): only if configured, and only for an answer that passed the rest.
  let score = 1 - failures.length / 7;
  if (policy.policy.output.judge && answer && failures.length === 0) {
    const j = policy.policy.output.judge;
    const context = input.passages.map((x, i) => `[${i + 1}] ${x.slice(0, 600)}`).join('\n');
    const verdict = await classifiers.ask('judge', j.model, text, `Rubric: ${j.rubric}\n\nQuestion: ${input.question}\n\nContext:\n${context}`);
    if (verdict instanceof Error) {
      checks.push({ check: 'judge', verdict: 'flag', latencyMs: 0, detail: { error: verdict.message } });
    } else {
      score = verdict.score;
      const failed = verdict.score < j.minScore;
      checks.push({ check: 'judge', verdict: failed ? 'fail' : 'pass', latencyMs: verdict.latencyMs, detail: { model: verdict.model, score: verdict.score, reason: verdict.reason } });
      if (failed) {
        failures.push('judge');
        feedback.push(`A reviewer scored your previous answer ${verdict.score.toFixed(2)}: ${verdict.reason ?? 'it does not meet the rubric'}.`);
      }
    }
  }

  return {
    passed: failures.length === 0,
    failures,
    forceHandoff,
    text,
    checks,
    unsupported,
    score,
    feedback: feedback.join('\n'),
    latencyMs: roundMs(performance.now() - started - classifiers.modelMs),
    usage: classifiers.usage,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
