// The guardrails' activities: the input guard, the output guard, and the screen retrieved
// passages pass before a model reads them. Each loads the tenant's policy once per task (the
// workflow carries it after the first guard) and logs its checks.
import type { ActivityDeps } from '../deps.js';
import { heartbeating } from '../heartbeat.js';
import type { Passage } from '../retrieval/types.js';
import { passageText } from '../text.js';
import { logGuardChecks } from './check-log.js';
import { inGuardSpan } from './guard-spans.js';
import { guardInput, type GuardServices, type InputGuardInput, type InputGuardOutput } from './input-guard.js';
import { guardOutput, type OutputGuardInput, type OutputGuardOutput } from './output-guard.js';
import type { GuardrailPolicies, TaskPolicy } from './policy.js';
import type { GuardCheck } from './types.js';
import { screenUntrusted } from './untrusted.js';
import type { PiiVault } from './vault.js';

export function createGuardrailActivities(deps: Pick<ActivityDeps, 'db' | 'gateway' | 'log'>, shared: { vault: PiiVault; policies: GuardrailPolicies; toolNames: readonly string[] }) {
  const guards: GuardServices = { vault: shared.vault, gateway: deps.gateway, toolNames: shared.toolNames };
  return {
    /** The user's text before any model sees it: PII, injection, scope, anomaly, handoff triggers. */
    async guardInput(input: InputGuardInput & { policy?: TaskPolicy }): Promise<InputGuardOutput & { policy: TaskPolicy }> {
      const policy = input.policy ?? (await shared.policies.current(input.tenantId));
      const out = await inGuardSpan('input', { tenantId: input.tenantId, taskId: input.vaultTaskId }, () => heartbeating((signal) => guardInput(guards, policy, input, signal)), (o) => ({ checks: o.checks, decision: o.action }));
      logGuardChecks(deps.log, 'input guard', input.tenantId, input.vaultTaskId, out.checks);
      return { ...out, policy };
    },

    /** An answer before anyone sees it; reports failures, the workflow's policy decides. */
    async guardOutput(input: OutputGuardInput & { policy: TaskPolicy }): Promise<OutputGuardOutput> {
      const out = await inGuardSpan('output', { tenantId: input.tenantId, taskId: input.vaultTaskId }, () => heartbeating((signal) => guardOutput(guards, input.policy, input, signal)), (o) => ({ checks: o.checks, decision: o.passed ? 'passed' : 'failed' }));
      logGuardChecks(deps.log, 'output guard', input.tenantId, input.vaultTaskId, out.checks);
      return out;
    },

    /** Retrieved passages screened for injected instructions: flagged ones dropped or quarantined. */
    async screenPassages(input: { tenantId: string; taskId: string; policy: TaskPolicy; passages: Passage[] }): Promise<{ passages: Passage[]; check: GuardCheck }> {
      const screen = () =>
        screenUntrusted(deps.db, input.policy.policy, {
          tenantId: input.tenantId,
          taskId: input.taskId,
          source: 'document',
          items: input.passages.map((p) => ({ ref: `${p.documentId}#${p.chunkId}`, text: passageText(p) })),
          toolNames: shared.toolNames,
        });
      const out = await inGuardSpan('passages', input, screen, (o) => ({ checks: [o.check], decision: `kept ${o.keep.filter(Boolean).length} of ${o.keep.length}` }));
      logGuardChecks(deps.log, 'context screen', input.tenantId, input.taskId, [out.check]);
      return { passages: input.passages.filter((_, i) => out.keep[i]), check: out.check };
    },
  };
}
