// The router as a recorded step, shared by answerQuestion and runAgent: the route a request
// takes, with why (the classifier stage, the nearest intents), in the task's steps.
import type { Activities, RouteInput, RouteOutput } from '../../activities/index.js';
import type { RouteDecision } from '../messages.js';
import { summaries, withSummary } from '../policy/summaries.js';
import type { Steps } from './input-guard.js';

export function routeStep(steps: Steps, activities: Pick<Activities, 'routeRequest'>, input: RouteInput): Promise<RouteOutput> {
  return steps.run(
    'route',
    () => withSummary(activities.routeRequest, summaries.route(input.masked), input),
    (r) =>
      r.decided
        ? {
            latencyMs: r.latencyMs,
            usage: r.usage.inputTokens + r.usage.outputTokens > 0 ? r.usage : undefined,
            model: r.decision.model,
            detail: { ...routeSummary(r.decision), masked: input.masked },
          }
        : { latencyMs: r.latencyMs, detail: { deferred: 'waits for the masked text', masked: input.masked } },
  );
}

/**
 * Route the request beside the input guard: the raw text goes to the router while the guard
 * masks it, and only when the router needs the masked text (a remote embedder or the
 * classifier model) does it route again after the guard. `guard` runs first so the order of
 * scheduled activities is the guard's, then the router's.
 */
export async function guardAndRoute<G extends { action: string; text: string }>(
  steps: Steps,
  activities: Pick<Activities, 'routeRequest'>,
  guard: () => Promise<G>,
  request: Omit<RouteInput, 'masked' | 'text'> & { text: string },
): Promise<{ guarded: G; route?: RouteDecision }> {
  const [guarded, early] = await Promise.all([guard(), routeStep(steps, activities, { ...request, masked: false })]);
  if (guarded.action !== 'proceed') return { guarded, route: early.decided ? early.decision : undefined };
  if (early.decided) return { guarded, route: early.decision };
  const late = await routeStep(steps, activities, { ...request, text: guarded.text, masked: true });
  return { guarded, route: late.decided ? late.decision : undefined };
}

/** What a step shows of a decision: enough to see why, without the target's own texts. */
export function routeSummary(d: RouteDecision): Record<string, unknown> {
  return {
    version: d.version,
    intent: d.intent,
    stage: d.stage,
    target: d.target.kind,
    ...(d.target.kind === 'retrieval' ? { collection: d.target.collection } : {}),
    ...(d.target.kind === 'agent' ? { tools: d.target.tools } : {}),
    ...(d.similarity !== undefined ? { similarity: d.similarity } : {}),
    ...(d.nearest ? { nearest: d.nearest } : {}),
    ...(d.learned ? { learned: d.learned } : {}),
  };
}
