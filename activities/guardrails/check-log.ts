// Every guardrail decision is logged with its verdict and latency; details never carry
// matched values (counts, signal ids, placeholders only).
import type { Logger } from '../../infra/logger.js';
import type { GuardCheck } from './types.js';

export function logGuardChecks(log: Logger, stage: string, tenantId: string, taskId: string, checks: GuardCheck[]): void {
  const notable = checks.filter((c) => c.verdict !== 'pass');
  log.info({ tenantId, taskId, checks: checks.map((c) => ({ check: c.check, verdict: c.verdict, latencyMs: c.latencyMs })), ...(notable.length ? { findings: notable.map((c) => ({ check: c.check, ...c.detail })) } : {}) }, stage);
}
