// The gateway's resilience rules on their own, with a fake clock: the breaker's states, what a
// Retry-After asks for, the balancer's orders, and the registry's deployments.
import { describe, expect, it } from 'vitest';
import { balanceOrder } from '../../activities/gateway/resilience/balancer.js';
import { CircuitBreaker, type BreakerTrip } from '../../activities/gateway/resilience/breaker.js';
import { retryAfterMs, retryDelayMs, waitOrAbort } from '../../activities/gateway/resilience/retry.js';
import { loadConfig } from '../../infra/config.js';

describe('circuit breaker', () => {
  const settings = { failureRate: 0.5, minimumCalls: 4, windowMs: 10_000, cooldownMs: 1_000 };
  function breaker() {
    let now = 0;
    const trips: BreakerTrip[] = [];
    const b = new CircuitBreaker(settings, (t) => trips.push(t), () => now);
    return { b, trips, advance: (ms: number) => (now += ms) };
  }

  it('stays closed below the minimum of calls, however they failed', () => {
    const { b } = breaker();
    for (let i = 0; i < 3; i++) b.record(true);
    expect(b.state).toBe('closed');
    expect(b.window()).toEqual({ calls: 3, failureRate: 1 });
  });

  it('opens on the failure rate, refuses, then lets exactly one trial through', () => {
    const { b, trips, advance } = breaker();
    b.record(false);
    b.record(true);
    b.record(false);
    b.record(true);
    expect(b.state).toBe('open');
    expect(trips).toEqual([{ from: 'closed', failureRate: 0.5, calls: 4 }]);
    expect(b.tryAcquire()).toBe(false);
    advance(1_000);
    expect(b.state).toBe('half_open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    b.record(false);
    expect(b.state).toBe('closed');
    expect(b.window().calls).toBe(0);
  });

  it('a failed trial re-opens it for a whole cool-down; a cancelled one frees the trial', () => {
    const { b, trips, advance } = breaker();
    for (let i = 0; i < 4; i++) b.record(true);
    advance(1_000);
    expect(b.tryAcquire()).toBe(true);
    b.release();
    expect(b.tryAcquire()).toBe(true);
    b.record(true);
    expect(trips.map((t) => t.from)).toEqual(['closed', 'half_open']);
    advance(999);
    expect(b.state).toBe('open');
    advance(1);
    expect(b.state).toBe('half_open');
  });

  it('forgets calls older than its window', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.record(true);
    advance(10_001);
    b.record(true);
    expect(b.state).toBe('closed');
    expect(b.window()).toEqual({ calls: 1, failureRate: 1 });
  });
});

describe('retries', () => {
  const withHeaders = (h: Record<string, string>) => ({ headers: new Headers(h) });
  const settings = { retries: 2, maxRetryWaitMs: 5_000 };

  it("reads Retry-After in milliseconds, seconds or as a date", () => {
    expect(retryAfterMs(withHeaders({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(retryAfterMs(withHeaders({ 'retry-after': '1.5' }))).toBe(1_500);
    expect(retryAfterMs(withHeaders({ 'retry-after': new Date(60_000).toUTCString() }), 57_000)).toBe(3_000);
    expect(retryAfterMs({ headers: { 'retry-after': '2' } })).toBe(2_000);
    expect(retryAfterMs(withHeaders({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(new Error('no headers'))).toBeUndefined();
  });

  it('retries 429s and 5xx only, a bounded number of times, never waiting longer than allowed', () => {
    expect(retryDelayMs('rate_limited', withHeaders({ 'retry-after': '1' }), 0, settings)).toBe(1_000);
    expect(retryDelayMs('rate_limited', withHeaders({ 'retry-after': '60' }), 0, settings)).toBeUndefined();
    expect(retryDelayMs('server_error', {}, 2, settings)).toBeUndefined();
    for (const outcome of ['timeout', 'unavailable', 'malformed', 'rejected'] as const) expect(retryDelayMs(outcome, {}, 0, settings)).toBeUndefined();
    // Without a Retry-After: full jitter under a doubling ceiling.
    expect(retryDelayMs('server_error', {}, 0, settings, () => 0.999)).toBeLessThan(200);
    expect(retryDelayMs('server_error', {}, 1, settings, () => 0.999)).toBeGreaterThan(390);
    expect(retryDelayMs('server_error', {}, 1, settings, () => 0.999)).toBeLessThan(400);
  });

  it('a wait ends when the signal aborts', async () => {
    const controller = new AbortController();
    const waiting = waitOrAbort(10_000, controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
  });
});

describe('balancer', () => {
  const d = (id: string, weight: number, inFlight = 0, latencyMs?: number) => ({ id, weight, inFlight, latencyMs });

  it('weighted: draws by weight without replacement', () => {
    const deployments = [d('a', 3), d('b', 1)];
    expect(balanceOrder('weighted', deployments, () => 0.1).map((x) => x.id)).toEqual(['a', 'b']);
    expect(balanceOrder('weighted', deployments, () => 0.9).map((x) => x.id)).toEqual(['b', 'a']);
  });

  it('least busy and least latency: the lowest first, ties in the registry order, the unmeasured first', () => {
    expect(balanceOrder('least_busy', [d('a', 1, 2), d('b', 1, 0), d('c', 1, 0)]).map((x) => x.id)).toEqual(['b', 'c', 'a']);
    expect(balanceOrder('least_latency', [d('a', 1, 0, 300), d('b', 1, 0, 100), d('c', 1, 0)]).map((x) => x.id)).toEqual(['c', 'b', 'a']);
  });
});

describe('the registry’s deployments', () => {
  it('a model without deployments is one, on its own endpoint: existing configs keep working', () => {
    const c = loadConfig({ OPENAI_BASE_URL: 'http://models.internal/v1', OPENAI_API_KEY: 'sk-x', GATEHOUSE_MODELS: JSON.stringify([{ name: 'big' }]) });
    expect(c.models.registry.find((m) => m.name === 'big')).toMatchObject({
      balance: 'weighted',
      deployments: [{ id: 'big', baseUrl: 'http://models.internal/v1', apiKey: 'sk-x', weight: 1 }],
    });
    expect(c.models.resilience).toEqual({ retries: 2, maxRetryWaitMs: 5_000, breaker: { failureRate: 0.5, minimumCalls: 10, windowMs: 60_000, cooldownMs: 30_000 } });
  });

  it('several deployments, each with its endpoint, key and weight, and a balance', () => {
    const c = loadConfig({
      EAST_KEY: 'sk-east',
      GATEHOUSE_CHAT_MODEL: 'gpt',
      GATEHOUSE_MODELS: JSON.stringify([
        {
          name: 'gpt',
          balance: 'least_busy',
          deployments: [{ baseUrl: 'http://east.internal/v1', apiKeyEnv: 'EAST_KEY', weight: 3 }, { id: 'west', baseUrl: 'http://west.internal/v1' }],
        },
      ]),
    });
    expect(c.models.registry.find((m) => m.name === 'gpt')).toMatchObject({
      balance: 'least_busy',
      deployments: [
        { id: 'gpt#1', baseUrl: 'http://east.internal/v1', apiKey: 'sk-east', weight: 3 },
        { id: 'west', baseUrl: 'http://west.internal/v1', apiKey: undefined, weight: 1 },
      ],
    });
    expect(() => loadConfig({ GATEHOUSE_MODELS: JSON.stringify([{ name: 'x', deployments: [{ weight: 1 }] }]) })).toThrow(/deployment 1 of model "x" needs a baseUrl/);
    expect(() => loadConfig({ GATEHOUSE_MODELS: JSON.stringify([{ name: 'x', deployments: [{ baseUrl: 'http://a/v1', apiKeyEnv: 'NOPE' }] }]) })).toThrow(/NOPE: expected the API key of deployment 1/);
    expect(() => loadConfig({ GATEHOUSE_MODELS: JSON.stringify([{ name: 'x', balance: 'random', baseUrl: 'http://a/v1' }]) })).toThrow(/\[0\.balance\]/);
    expect(() => loadConfig({ GATEHOUSE_BREAKER_FAILURE_RATE: '1.5' })).toThrow(/GATEHOUSE_BREAKER_FAILURE_RATE/);
  });
});
