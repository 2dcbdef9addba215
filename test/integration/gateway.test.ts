// The model gateway against the scripted OpenAI-compatible server, over real HTTP with the
// real `openai` client, recording usage in real Postgres.
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AllModelsFailedError, ModelGateway } from '../../activities/gateway/gateway.js';
import type { Services } from '../../infra/services.js';
import { testConfig, testLog, testServices, uniqueId } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

describe('model gateway', () => {
  let server: ScriptedModelServer;
  let services: Services;

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary', 'secondary', 'tiny'] });
    services = await testServices('pglite');
  });
  afterAll(async () => {
    await server.close();
    await services.close();
  });
  beforeEach(() => server.reset());

  function gateway(chain: string[]) {
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      OPENAI_API_KEY: 'sk-test',
      GATEHOUSE_CHAT_MODEL: chain[0]!,
      GATEHOUSE_MODEL_FALLBACKS: chain.slice(1).join(','),
      GATEHOUSE_MODEL_TIMEOUT_MS: '400',
      // The fallback chain alone: retries of one deployment have their own tests (resilience.test.ts).
      GATEHOUSE_MODEL_RETRIES: '0',
      GATEHOUSE_MODELS: JSON.stringify([
        { name: 'primary', inputPricePerMTok: 2, outputPricePerMTok: 8 },
        { name: 'secondary', inputPricePerMTok: 1, outputPricePerMTok: 4 },
        { name: 'tiny', contextWindow: 64 },
      ]),
    });
    return new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, db: services.db, log: testLog });
  }
  const ask = { messages: [{ role: 'user' as const, content: 'What is the restocking fee?' }], maxTokens: 20 };

  async function usageRows(taskId: string) {
    const { rows } = await services.db.query(
      'SELECT model, outcome, input_tokens, output_tokens, cost_usd::float8 AS cost FROM model_usage WHERE task_id = $1 ORDER BY id',
      [taskId],
    );
    return rows;
  }

  it('answers through the primary model and records tokens, cost and latency', async () => {
    server.enqueue({ content: 'It is 15% [1].', usage: { promptTokens: 1000, completionTokens: 500 } });
    const taskId = uniqueId('task');
    const res = await gateway(['primary', 'secondary']).chat(ask, { tenantId: 't', taskId, step: 'generate' });
    expect(res).toMatchObject({ content: 'It is 15% [1].', model: 'primary', usage: { inputTokens: 1000, outputTokens: 500, costUsd: 0.006 } });
    expect(res.attempts).toEqual([{ model: 'primary', deployment: 'primary', outcome: 'ok', latencyMs: expect.any(Number) }]);
    expect(await usageRows(taskId)).toEqual([{ model: 'primary', outcome: 'ok', input_tokens: 1000, output_tokens: 500, cost: 0.006 }]);
    expect(server.requests[0]!.model).toBe('primary');
    expect(server.requests[0]!.headers.authorization).toBe('Bearer sk-test');
  });

  it.each([
    ['a 429', { error: { status: 429, retryAfterSeconds: 1 } }, 'rate_limited'],
    ['a 500', { error: { status: 500 } }, 'server_error'],
    ['a 503', { error: { status: 503 } }, 'server_error'],
    ['a timeout', { hangMs: 2_000 }, 'timeout'],
    ['a malformed body', { malformed: 'invalid-json' as const }, 'malformed'],
    ['a reply without choices', { malformed: 'missing-choices' as const }, 'malformed'],
    ['a dropped connection', { malformed: 'close-socket' as const }, 'unavailable'],
  ])('falls back to the next model on %s', async (_label, fault, outcome) => {
    server.enqueue({ ...fault, match: { model: 'primary' } }, { content: 'from secondary', match: { model: 'secondary' } });
    const taskId = uniqueId('task');
    const res = await gateway(['primary', 'secondary']).chat(ask, { taskId });
    expect(res.model).toBe('secondary');
    expect(res.content).toBe('from secondary');
    expect(res.attempts.map((a) => [a.model, a.outcome])).toEqual([
      ['primary', outcome],
      ['secondary', 'ok'],
    ]);
    expect((await usageRows(taskId)).map((r) => r.outcome)).toEqual([outcome, 'ok']);
  });

  it('reports a transient failure of the whole chain as retryable', async () => {
    server.enqueue({ error: { status: 500 } }, { error: { status: 429 } });
    const err = await gateway(['primary', 'secondary']).chat(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllModelsFailedError);
    expect(err).not.toBeInstanceOf(ApplicationFailure);
  });

  it('does not fall back on a request the provider rejects, and marks it non-retryable', async () => {
    server.enqueue({ error: { status: 400, message: 'bad parameter' } });
    const err = await gateway(['primary', 'secondary']).chat(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('skips a model whose context window is too small', async () => {
    server.enqueue({ content: 'fits', match: { model: 'secondary' } });
    const long = { messages: [{ role: 'user' as const, content: 'word '.repeat(200) }], maxTokens: 10 };
    const res = await gateway(['tiny', 'secondary']).chat(long);
    expect(res.model).toBe('secondary');
    expect(res.attempts[0]).toMatchObject({ model: 'tiny', outcome: 'context_overflow' });
    expect(server.requests.map((r) => r.model)).toEqual(['secondary']);
  });

  it('ends the chain with the offline local model, which says who answered', async () => {
    server.enqueue({ error: { status: 503 } });
    const res = await gateway(['primary', 'local']).chat({
      ...ask,
      offline: { kind: 'answer', question: 'What is the restocking fee?', passages: [{ text: 'Returns get a refund minus a 15% restocking fee.', title: null, heading: '' }] },
    });
    expect(res.model).toBe('local');
    expect(res.content).toContain('15% restocking fee');
    expect(res.content).toContain('[1]');
    expect(res.usage.costUsd).toBe(0);
    expect(res.usage.inputTokens).toBeGreaterThan(0);
  });

  it('starts the chain at a requested model', async () => {
    server.enqueue({ content: 'secondary first' });
    const res = await gateway(['primary', 'secondary']).chat({ ...ask, model: 'secondary' });
    expect(res.model).toBe('secondary');
    const err = await gateway(['primary']).chat({ ...ask, model: 'nope' }).catch((e: unknown) => e);
    expect((err as ApplicationFailure).type).toBe('UnknownModel');
  });
});
