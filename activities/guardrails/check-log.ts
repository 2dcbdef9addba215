// Every guardrail decision is logged with its verdict and latency, and counted by stage, check and
// verdict (gatehouse_guardrail_verdicts_total); details never carry matched values (counts, signal
// ids, placeholders only).
import type { Logger } from '../../infra/logger.js';
import { metrics } from '../../infra/metrics.js';
import type { GuardCheck } from './types.js';

export function logGuardChecks(log: Logger, stage: string, tenantId: string, taskId: string, checks: GuardCheck[]): void {
  // The stage as a label: 'tool output search_documents' → tool_output_search_documents (tool names are the registry's).
  const stageLabel = stage.replace(/\s+/g, '_');
  for (const c of checks) metrics.guardrailVerdicts.inc({ stage: stageLabel, check: c.check, verdict: c.verdict, tenant: tenantId });
  const notable = checks.filter((c) => c.verdict !== 'pass');
  log.info({ tenantId, taskId, checks: checks.map((c) => ({ check: c.check, verdict: c.verdict, latencyMs: c.latencyMs })), ...(notable.length ? { findings: notable.map((c) => ({ check: c.check, ...c.detail })) } : {}) }, stage);
}
