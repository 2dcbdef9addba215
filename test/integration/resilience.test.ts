// Calls that survive providers, on the real stack: the gateway through the real `openai` client
// against scripted servers (one per deployment), timing bounded rather than exact.
import { ApplicationFailure } from '@temporalio/common';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { STREAM_BROKEN_AFTER_RELEASE } from '../../activities/gateway/resilience/stream-integrity.js';
import { testConfig } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

const ask = { messages: [{ role: 'user' as const, content: 'What is the restocking fee?' }], maxTokens: 20 };

describe('gateway resilience', () => {
  let a: ScriptedModelServer;
  let b: ScriptedModelServer;
  const logged: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });

  beforeAll(async () => {
    [a, b] = await Promise.all([startScriptedModelServer(), startScriptedModelServer()]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });
  beforeEach(() => {
    a.reset();
    b.reset();
    logged.length = 0;
  });

  /** `models` as GATEHOUSE_MODELS; every model on server a unless its deployments say otherwise. */
  function gateway(chain: string[], models: unknown[], env: Record<string, string> = {}) {
    const config = testConfig({
      OPENAI_BASE_URL: a.baseUrl,
      GATEHOUSE_CHAT_MODEL: chain[0]!,
      GATEHOUSE_MODEL_FALLBACKS: chain.slice(1).join(','),
      GATEHOUSE_MODEL_TIMEOUT_MS: '3000',
      GATEHOUSE_MODELS: JSON.stringify(models),
      ...env,
    });
    return new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, log });
  }
  const chats = (server: ScriptedModelServer) => server.requests.filter((r) => r.kind === 'chat');
  const pool = (balance: string, weights = [1, 1]) => ({
    name: 'pool',
    balance,
    deployments: [
      { id: 'pool-a', baseUrl: a.baseUrl, weight: weights[0] },
      { id: 'pool-b', baseUrl: b.baseUrl, weight: weights[1] },
    ],
  });

  describe('retries', () => {
    it.each(['openai', 'anthropic'] as const)("waits out the provider's Retry-After, then retries the same deployment (%s)", async (provider) => {
      a.enqueue({ error: { status: 429, retryAfterSeconds: 0.6 } });
      const t0 = performance.now();
      const env = { ANTHROPIC_BASE_URL: a.origin, ANTHROPIC_API_KEY: 'sk-test' };
      const res = await gateway(['solo'], [{ name: 'solo', provider }], env).chat(ask);
      const elapsed = performance.now() - t0;
      expect(res.attempts.map((x) => [x.deployment, x.outcome])).toEqual([
        ['solo', 'rate_limited'],
        ['solo', 'ok'],
      ]);
      const [first, second] = chats(a);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(550);
      expect(elapsed).toBeGreaterThanOrEqual(550);
      expect(elapsed).toBeLessThan(2_500);
    });

    it('retries a 503 a bounded number of times with backoff, then the chain moves on', async () => {
      a.enqueue(...Array.from({ length: 3 }, () => ({ error: { status: 503 }, match: { model: 'primary' } })));
      const res = await gateway(['primary', 'secondary'], [{ name: 'primary' }, { name: 'secondary' }], { GATEHOUSE_MODEL_RETRIES: '2' }).chat(ask);
      expect(res.model).toBe('secondary');
      expect(res.attempts.map((x) => [x.model, x.outcome])).toEqual([
        ['primary', 'server_error'],
        ['primary', 'server_error'],
        ['primary', 'server_error'],
        ['secondary', 'ok'],
      ]);
    });

    it('moves on at once when the Retry-After is longer than the gateway waits', async () => {
      a.enqueue({ error: { status: 429, retryAfterSeconds: 30 }, match: { model: 'primary' } });
      const t0 = performance.now();
      const res = await gateway(['primary', 'secondary'], [{ name: 'primary' }, { name: 'secondary' }], { GATEHOUSE_MODEL_RETRY_MAX_WAIT_MS: '2000' }).chat(ask);
      expect(res.model).toBe('secondary');
      expect(performance.now() - t0).toBeLessThan(1_500);
      expect(chats(a).filter((r) => r.model === 'primary')).toHaveLength(1);
    });

    it("stops waiting when the activity's signal aborts", async () => {
      a.enqueue({ error: { status: 429, retryAfterSeconds: 4 } });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('cancelled by the test')), 200);
      const t0 = performance.now();
      const err = await gateway(['solo'], [{ name: 'solo' }]).chat({ ...ask, signal: controller.signal }).catch((e: unknown) => e);
      expect((err as Error).message).toBe('cancelled by the test');
      expect(performance.now() - t0).toBeLessThan(1_500);
      expect(chats(a)).toHaveLength(1);
    });
  });

  describe('circuit breaker', () => {
    const breaker = { GATEHOUSE_MODEL_RETRIES: '0', GATEHOUSE_BREAKER_MIN_CALLS: '4', GATEHOUSE_BREAKER_FAILURE_RATE: '0.5', GATEHOUSE_BREAKER_COOLDOWN_MS: '400' };
    const models = () => [{ name: 'flaky' }, { name: 'steady', baseUrl: b.baseUrl }];
    const flakyOf = (gw: ModelGateway) => gw.deploymentStatus().find((d) => d.model === 'flaky')!;

    it('opens after failures over the minimum of calls, logs and counts the trip, and refuses fast while open', async () => {
      const gw = gateway(['flaky', 'steady'], models(), breaker);
      a.enqueue(...Array.from({ length: 4 }, () => ({ error: { status: 500 } })));
      for (let i = 0; i < 3; i++) await gw.chat(ask);
      expect(flakyOf(gw)).toMatchObject({ state: 'closed', failureRate: 1, callsInWindow: 3, trips: 0 });
      await gw.chat(ask);
      expect(flakyOf(gw)).toMatchObject({ state: 'open', trips: 1 });
      expect(logged.filter((l) => l.msg === 'circuit breaker opened')).toEqual([
        expect.objectContaining({ model: 'flaky', deployment: 'flaky', from: 'closed', failureRate: 1, calls: 4, trips: 1 }),
      ]);

      const t0 = performance.now();
      const res = await gw.chat(ask);
      expect(res.model).toBe('steady');
      expect(res.attempts[0]).toMatchObject({ model: 'flaky', outcome: 'circuit_open', latencyMs: 0 });
      expect(chats(a)).toHaveLength(4);
      expect(performance.now() - t0).toBeLessThan(500);
    });

    it('after the cool-down, one half-open trial closes it on success', async () => {
      const gw = gateway(['flaky', 'steady'], models(), breaker);
      a.enqueue(...Array.from({ length: 4 }, () => ({ error: { status: 500 } })));
      for (let i = 0; i < 4; i++) await gw.chat(ask);
      expect(flakyOf(gw).state).toBe('open');
      await new Promise((r) => setTimeout(r, 450));
      expect(flakyOf(gw).state).toBe('half_open');
      const res = await gw.chat(ask);
      expect(res).toMatchObject({ model: 'flaky' });
      expect(flakyOf(gw)).toMatchObject({ state: 'closed', callsInWindow: 0, trips: 1 });
    });

    it('a failed half-open trial opens it again for another cool-down', async () => {
      const gw = gateway(['flaky', 'steady'], models(), breaker);
      a.enqueue(...Array.from({ length: 5 }, () => ({ error: { status: 500 } })));
      for (let i = 0; i < 4; i++) await gw.chat(ask);
      await new Promise((r) => setTimeout(r, 450));
      const res = await gw.chat(ask);
      expect(res.model).toBe('steady');
      expect(flakyOf(gw)).toMatchObject({ state: 'open', trips: 2 });
      expect(logged.filter((l) => l.msg === 'circuit breaker opened').map((l) => l.from)).toEqual(['closed', 'half_open']);
      expect(chats(a)).toHaveLength(5);
    });
  });

  describe('load balancing', () => {
    it('splits calls by weight, roughly', async () => {
      const gw = gateway(['pool'], [pool('weighted', [3, 1])]);
      const n = 200;
      for (let i = 0; i < n; i++) await gw.chat(ask);
      const share = chats(a).length / n;
      expect(chats(a).length + chats(b).length).toBe(n);
      expect(share).toBeGreaterThan(0.62);
      expect(share).toBeLessThan(0.88);
    });

    it('least busy: calls avoid a deployment whose call hangs', async () => {
      const gw = gateway(['pool'], [pool('least_busy')]);
      a.enqueue({ hangMs: 1_500 });
      const hanging = gw.chat(ask);
      await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 5; i++) await gw.chat(ask);
      expect(chats(a)).toHaveLength(1);
      expect(chats(b)).toHaveLength(5);
      expect(gw.deploymentStatus().find((d) => d.deployment === 'pool-a')).toMatchObject({ inFlight: 1 });
      await hanging;
      expect(gw.deploymentStatus().map((d) => d.inFlight)).toEqual([0, 0, 0]);
    });

    it('least latency: calls go to the deployment that answered fastest recently', async () => {
      const gw = gateway(['pool'], [pool('least_latency')]);
      a.onChat(async () => ({ content: 'slow', delayMs: 150 }));
      await gw.chat(ask);
      await gw.chat(ask);
      for (let i = 0; i < 5; i++) await gw.chat(ask);
      expect(chats(a)).toHaveLength(1);
      expect(chats(b)).toHaveLength(6);
    });
  });

  describe('broken streams', () => {
    // least_busy with nothing in flight keeps the registry's order: pool-a first, then pool-b.
    it.each([
      ['drops the connection', 'drop'],
      ['ends without a finish reason or [DONE]', 'end'],
    ] as const)('before any text reached the caller, the next deployment answers when the stream %s', async (_label, how) => {
      a.enqueue({ content: 'A partial answer that never arrives.', breakStream: { after: 0, how } });
      b.enqueue({ content: 'The whole answer.' });
      const deltas: string[] = [];
      const res = await gateway(['pool'], [pool('least_busy')]).chat({ ...ask, onDelta: (d) => deltas.push(d) });
      expect(res.content).toBe('The whole answer.');
      expect(deltas.join('')).toBe('The whole answer.');
      expect(res.attempts.map((x) => [x.deployment, x.outcome])).toEqual([
        ['pool-a', how === 'drop' ? 'unavailable' : 'malformed'],
        ['pool-b', 'ok'],
      ]);
    });

    it.each([
      ['drops the connection', 'drop'],
      ['ends without a finish reason or [DONE]', 'end'],
    ] as const)('after text reached the caller, it fails loudly when the stream %s', async (_label, how) => {
      a.enqueue({ content: 'The fee is fifteen percent of the price.', breakStream: { after: 3, how } });
      const deltas: string[] = [];
      const err = await gateway(['pool'], [pool('least_busy')]).chat({ ...ask, onDelta: (d) => deltas.push(d) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err).toMatchObject({ type: STREAM_BROKEN_AFTER_RELEASE, nonRetryable: false });
      expect((err as Error).message).toMatch(/the stream from pool-a broke after \d+ characters reached the caller/);
      expect(deltas.join('').length).toBeGreaterThan(0);
      expect('The fee is fifteen percent of the price.'.startsWith(deltas.join(''))).toBe(true);
      // No other deployment was asked to finish an answer it did not start.
      expect(chats(b)).toHaveLength(0);
    });
  });
});
