// What the gateway shows of its deployments (GET /v1/gateway/deployments): health, never tenant
// data — no prompts, no tenant ids, no keys, an endpoint without its credentials.
import { z } from 'zod';

export const breakerState = z.enum(['closed', 'open', 'half_open']);

export const deploymentStatus = z.object({
  model: z.string(),
  deployment: z.string(),
  provider: z.string(),
  /** The endpoint's origin, credentials stripped; absent for the provider SDK's own default. */
  endpoint: z.string().optional(),
  state: breakerState,
  /** The share of calls in the breaker's window that failed, 0..1. */
  failureRate: z.number(),
  callsInWindow: z.number().int(),
  /** A moving average of recent calls' latency; null until one ended. */
  recentLatencyMs: z.number().nullable(),
  inFlight: z.number().int(),
  /** Times the breaker opened since the worker process started. */
  trips: z.number().int(),
});
export type DeploymentStatus = z.infer<typeof deploymentStatus>;

/** What the API reads breaker state through: the gateway of its own process, when it has one. */
export interface DeploymentStatusSource {
  deploymentStatus(): DeploymentStatus[];
}
