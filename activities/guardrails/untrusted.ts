// Untrusted text — retrieved chunks, tool outputs — is screened for injected instructions
// before a model reads it. A flagged item is dropped, quarantined (held back and recorded
// in guardrail_quarantine for a human to look at), or kept and marked, per the policy.
import type { Db } from '../../infra/db/pool.js';
import { detectInjection } from './injection.js';
import type { GuardrailPolicy } from './policy.js';
import type { GuardCheck } from './types.js';
import { roundMs } from './timing.js';

export interface ScreenInput {
  tenantId: string;
  taskId: string;
  source: 'document' | 'tool';
  items: Array<{ ref: string; text: string }>;
  /** The tools the agent can call (see DetectInjectionOptions). */
  toolNames: readonly string[];
}

export interface ScreenOutput {
  /** Per item: may a model read it? */
  keep: boolean[];
  /** Per item: was it flagged (kept marked, or held back)? */
  flagged: boolean[];
  check: GuardCheck;
}

export async function screenUntrusted(db: Db, policy: GuardrailPolicy, input: ScreenInput): Promise<ScreenOutput> {
  const t0 = performance.now();
  const verdicts = input.items.map((item) => detectInjection(item.text, { source: input.source, threshold: policy.injection.threshold, toolNames: input.toolNames }));
  const latencyMs = roundMs(performance.now() - t0);
  const action = policy.injection.onUntrusted;
  const flagged = verdicts.map((v) => v.flagged);
  const hits = input.items.flatMap((item, i) => (flagged[i] ? [{ ref: item.ref, text: item.text, score: verdicts[i]!.score, signals: verdicts[i]!.signals }] : []));
  if (action === 'quarantine') {
    for (const h of hits) {
      await db.query(
        'INSERT INTO guardrail_quarantine (tenant_id, task_id, source, source_ref, signals, score, excerpt) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [input.tenantId, input.taskId, input.source, h.ref, h.signals, h.score, h.text.slice(0, 2000)],
      );
    }
  }
  return {
    keep: flagged.map((f) => !f || action === 'flag'),
    flagged,
    check: {
      check: `injection_${input.source}`,
      verdict: hits.length ? 'flag' : 'pass',
      latencyMs,
      detail: { screened: input.items.length, ...(hits.length ? { action, flagged: hits.map((h) => ({ ref: h.ref, score: round(h.score), signals: h.signals })) } : {}) },
    },
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
