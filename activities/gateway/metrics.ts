// What the gateway counts into the process's metrics (infra/metrics.ts): each attempt's duration
// and outcome, a streamed answer's time to first token, time per output token, tokens by kind,
// cost, the limits' refusals and the response caches' outcomes.
import { ApplicationFailure } from '@temporalio/common';
import { BUDGET_EXCEEDED, MODEL_NOT_ALLOWED, RATE_LIMITED } from '../../contracts/gateway-limits.js';
import { countCacheOutcome, label, metrics } from '../../infra/metrics.js';
import type { Attempt, AttemptOutcome, CacheOutcome, CallContext, Usage } from './types.js';

/** Who a call was for and where it came from: the registry's model, the tenant, the step, the route, the prompt version. */
export interface CallLabels {
  model: string;
  provider: string;
  tenant?: string;
  step?: string;
  route?: string;
  /** The versioned prompt as `name@version` (activities/prompts/): bounded by the catalog and the versions a tenant stores. */
  promptVersion?: string;
}

/** A failure kind: an attempt's outcome, or what the metrics tell apart beyond it. */
export type FailureKind = AttemptOutcome | 'broken_stream' | 'empty' | 'cancelled';

function common(l: CallLabels) {
  return { model: l.model, tenant: label(l.tenant), step: label(l.step), route: label(l.route), prompt_version: label(l.promptVersion) };
}

/** One attempt at one deployment, measured from `startedAt` (performance.now()). */
export function measureAttempt(labels: CallLabels, startedAt: number) {
  let firstTokenAt: number | undefined;
  const seconds = (until: number) => (until - startedAt) / 1000;
  const observe = (outcome: string) => metrics.modelCallDuration.observe({ ...common(labels), provider: labels.provider, outcome }, seconds(performance.now()));
  return {
    /** The provider's onDelta, noting when the first text arrived. */
    watch(onDelta: ((text: string) => void) | undefined): ((text: string) => void) | undefined {
      if (!onDelta) return undefined;
      return (text) => {
        if (firstTokenAt === undefined && text) {
          firstTokenAt = performance.now();
          metrics.timeToFirstToken.observe(common(labels), seconds(firstTokenAt));
        }
        onDelta(text);
      };
    },
    answered(usage: Usage, empty: boolean): void {
      const now = performance.now();
      observe('ok');
      const l = common(labels);
      metrics.tokens.inc({ ...l, kind: 'input' }, usage.inputTokens);
      metrics.tokens.inc({ ...l, kind: 'output' }, usage.outputTokens);
      if (usage.cachedReadTokens) metrics.tokens.inc({ ...l, kind: 'cached_read' }, usage.cachedReadTokens);
      if (usage.cacheWriteTokens) metrics.tokens.inc({ ...l, kind: 'cache_write' }, usage.cacheWriteTokens);
      metrics.cost.inc(l, usage.costUsd);
      // Streamed: the tokens after the first one, over the time after it; else the whole call per token.
      const generated = firstTokenAt === undefined ? usage.outputTokens : usage.outputTokens - 1;
      if (generated > 0) metrics.timePerOutputToken.observe(l, (now - (firstTokenAt ?? startedAt)) / 1000 / generated);
      if (empty) metrics.modelFailures.inc({ ...l, kind: 'empty' });
    },
    failed(kind: FailureKind): void {
      observe(kind);
      if (kind !== 'cancelled') metrics.modelFailures.inc({ ...common(labels), kind });
    },
  };
}

/** An attempt the chain skipped without a call (context overflow, no tools, an open breaker): counted, and passed on. */
export function countSkipped(attempt: Attempt & { outcome: FailureKind }, labels: CallLabels): Attempt {
  metrics.modelFailures.inc({ ...common(labels), kind: attempt.outcome });
  return attempt;
}

const REFUSALS: Record<string, string> = { [BUDGET_EXCEEDED]: 'budget', [RATE_LIMITED]: 'rate', [MODEL_NOT_ALLOWED]: 'access' };

/** A call the limits refused before it was made (limits/admission.ts); anything else is not counted here. */
export function countGatewayRefusal(err: unknown, ctx: CallContext): void {
  const reason = err instanceof ApplicationFailure && err.type ? REFUSALS[err.type] : undefined;
  if (reason) metrics.gatewayRefusals.inc({ reason, tenant: label(ctx.tenantId), step: label(ctx.step) });
}

/** The response caches' verdict on a call: the exact layer is GATEHOUSE_CACHE's `model` layer. */
export function countResponseCache(outcome: CacheOutcome | undefined, ctx: { tenantId?: string }): void {
  if (outcome) countCacheOutcome(outcome.layer === 'exact' ? 'model' : 'semantic', outcome.outcome, ctx.tenantId);
}
