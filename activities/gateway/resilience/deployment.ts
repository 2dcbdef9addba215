// One deployment of a model as a worker process sees it: the spec the provider calls (the
// model's, with this deployment's endpoint and key), its breaker, its calls in flight and its
// recent latency. All of it lives in memory, per process — breaker state is a local opinion of
// a deployment's health, as in every gateway that has one; the shared limits are in Postgres.
import type { DeploymentStatus } from '../../../contracts/gateway.js';
import type { BreakerSettings, ModelDeployment, ModelSpec } from '../../../infra/config.js';
import { nextLatency, type DeploymentLoad } from './balancer.js';
import { CircuitBreaker, type BreakerTrip } from './breaker.js';

export class Deployment implements DeploymentLoad {
  readonly id: string;
  readonly weight: number;
  /** What the provider adapter is called with. */
  readonly spec: ModelSpec;
  readonly breaker: CircuitBreaker;
  inFlight = 0;
  latencyMs: number | undefined;
  trips = 0;

  constructor(model: ModelSpec, deployment: ModelDeployment, breaker: BreakerSettings, onTrip: (d: Deployment, trip: BreakerTrip) => void) {
    this.id = deployment.id;
    this.weight = deployment.weight;
    this.spec = { ...model, baseUrl: deployment.baseUrl, apiKey: deployment.apiKey, deployments: [deployment] };
    this.breaker = new CircuitBreaker(breaker, (trip) => {
      this.trips += 1;
      onTrip(this, trip);
    });
  }

  /** A call starts: counted in flight until `finished`. */
  started(): void {
    this.inFlight += 1;
  }

  finished(latencyMs: number, verdict: 'ok' | 'failed' | 'cancelled'): void {
    this.inFlight -= 1;
    if (verdict === 'cancelled') return this.breaker.release();
    this.latencyMs = nextLatency(this.latencyMs, latencyMs);
    this.breaker.record(verdict === 'failed');
  }

  status(): DeploymentStatus {
    const { calls, failureRate } = this.breaker.window();
    return {
      model: this.spec.name,
      deployment: this.id,
      provider: this.spec.provider,
      ...(this.spec.baseUrl ? { endpoint: endpointOf(this.spec.baseUrl) } : {}),
      state: this.breaker.state,
      failureRate: Math.round(failureRate * 1000) / 1000,
      callsInWindow: calls,
      recentLatencyMs: this.latencyMs === undefined ? null : Math.round(this.latencyMs),
      inFlight: this.inFlight,
      trips: this.trips,
    };
  }
}

/** Scheme, host and path: a URL's user and password (and query) never leave the process. */
function endpointOf(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return '(unparsable)';
  }
}
