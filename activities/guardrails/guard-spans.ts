// One `guardrail {stage}` span per guard a task passes through — the input, the retrieved
// passages, a tool's output, the answer — with its verdict: the worst of its checks, the checks
// that did not pass (their names only, never what they matched), and what the guard decided.
import type { Span } from '@opentelemetry/api';
import { GATEHOUSE, inSpan, setAttributes } from '../../infra/spans.js';
import type { GuardCheck, Verdict } from './types.js';

export type GuardStage = 'input' | 'passages' | 'tool_output' | 'output';

const SEVERITY: Record<Verdict, number> = { pass: 0, flag: 1, fail: 2 };

export function inGuardSpan<T>(
  stage: GuardStage,
  who: { tenantId: string; taskId?: string; tool?: string },
  fn: () => Promise<T>,
  verdictOf: (out: T) => { checks: GuardCheck[]; decision?: string },
): Promise<T> {
  return inSpan(`guardrail ${stage}`, { [GATEHOUSE.guardrailStage]: stage, [GATEHOUSE.tenant]: who.tenantId, [GATEHOUSE.task]: who.taskId, 'gen_ai.tool.name': who.tool }, async (span) => {
    const out = await fn();
    recordVerdict(span, verdictOf(out));
    return out;
  });
}

function recordVerdict(span: Span, { checks, decision }: { checks: GuardCheck[]; decision?: string }): void {
  const worst = checks.reduce<Verdict>((w, c) => (SEVERITY[c.verdict] > SEVERITY[w] ? c.verdict : w), 'pass');
  setAttributes(span, {
    [GATEHOUSE.guardrailVerdict]: worst,
    [GATEHOUSE.guardrailChecks]: checks.filter((c) => c.verdict !== 'pass').map((c) => `${c.check}:${c.verdict}`),
    'gatehouse.guardrail.checks': checks.length,
    'gatehouse.guardrail.decision': decision,
  });
}
