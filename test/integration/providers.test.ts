// Each provider adapter through its real client library (`openai`, `@anthropic-ai/sdk`,
// `@google/genai`) against the scripted server speaking that provider's wire format, with usage
// recorded in real Postgres. One script answers any provider, so the cases are the same for all.
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { STREAM_BROKEN_AFTER_RELEASE } from '../../activities/gateway/resilience/stream-integrity.js';
import type { ChatMessage, ChatResult, ToolSpec } from '../../activities/gateway/types.js';
import type { RemoteProvider } from '../../infra/config.js';
import type { Services } from '../../infra/services.js';
import { testConfig, testLog, testServices, uniqueId } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

const PRICES = { inputPricePerMTok: 2, outputPricePerMTok: 8, cachedInputPricePerMTok: 0.5, cacheWritePricePerMTok: 2.5 };
const lookupOrder: ToolSpec = {
  name: 'lookup_order',
  description: 'Find an order by its id.',
  parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'], additionalProperties: false },
};
const ask = { messages: [{ role: 'system' as const, content: 'Answer briefly.' }, { role: 'user' as const, content: 'What is the restocking fee?' }], maxTokens: 50 };

describe('model providers', () => {
  let server: ScriptedModelServer;
  let services: Services;

  beforeAll(async () => {
    server = await startScriptedModelServer({ apiKey: 'sk-scripted' });
    services = await testServices('pglite');
  });
  afterAll(async () => {
    await server.close();
    await services.close();
  });
  beforeEach(() => server.reset());

  /** Models named after their provider (`anthropic-primary`), every provider pointed at the scripted server. */
  function gateway(chain: string[], models: Array<{ name: string; provider: RemoteProvider }>) {
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      OPENAI_API_KEY: 'sk-scripted',
      ANTHROPIC_BASE_URL: server.origin,
      ANTHROPIC_API_KEY: 'sk-scripted',
      GEMINI_BASE_URL: server.origin,
      GEMINI_API_KEY: 'sk-scripted',
      GATEHOUSE_CHAT_MODEL: chain[0]!,
      GATEHOUSE_MODEL_FALLBACKS: chain.slice(1).join(','),
      GATEHOUSE_MODEL_TIMEOUT_MS: '400',
      // The fallback chain alone: retries of one deployment have their own tests (resilience.test.ts).
      GATEHOUSE_MODEL_RETRIES: '0',
      GATEHOUSE_MODELS: JSON.stringify(models.map((m) => ({ ...m, ...PRICES }))),
    });
    return new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, db: services.db, log: testLog });
  }

  async function usageRows(taskId: string) {
    const { rows } = await services.db.query(
      `SELECT model, provider, outcome, input_tokens, output_tokens, cached_read_tokens, cache_write_tokens, cost_usd::float8 AS cost,
              saved_usd::float8 AS saved
         FROM model_usage WHERE task_id = $1 ORDER BY id`,
      [taskId],
    );
    return rows;
  }

  describe.each(['openai', 'anthropic', 'gemini'] as const)('%s', (provider) => {
    const primary = `${provider}-primary`;
    const secondary = `${provider}-secondary`;
    const pair = () => gateway([primary, secondary], [{ name: primary, provider }, { name: secondary, provider }]);
    const chats = () => server.requests.filter((r) => r.kind === 'chat');

    it('answers in plain text, speaking the provider\'s wire format with its key', async () => {
      server.enqueue({ content: 'It is 15% [1].' });
      const res = await pair().chat(ask);
      expect(res).toMatchObject({ content: 'It is 15% [1].', model: primary, toolCalls: [] });
      expect(chats().map((r) => [r.wire, r.model])).toEqual([[provider, primary]]);
      const headers = chats()[0]!.headers;
      // Anthropic's client sends its key as a bearer token (or x-api-key); Gemini's in x-goog-api-key.
      const key = { openai: headers.authorization, anthropic: headers['x-api-key'] ?? headers.authorization, gemini: headers['x-goog-api-key'] }[provider];
      expect(String(key).replace(/^Bearer /, '')).toBe('sk-scripted');
      // The system prompt goes where each API wants it.
      const body = chats()[0]!.body as Record<string, unknown>;
      // Anthropic's as text blocks, where a cache breakpoint can go (none here: the prompt is short).
      if (provider === 'anthropic') expect(body.system).toEqual([{ type: 'text', text: 'Answer briefly.' }]);
      if (provider === 'gemini') expect(body.systemInstruction).toMatchObject({ parts: [{ text: 'Answer briefly.' }] });
    });

    it('maps usage with cached tokens faithfully and prices each part at its rate', async () => {
      server.enqueue({ content: 'cached', usage: { promptTokens: 1000, completionTokens: 500, cachedReadTokens: 400, cacheWriteTokens: 100 } });
      const taskId = uniqueId('task');
      const res = await pair().chat(ask, { tenantId: 't', taskId, step: 'generate' });
      // Only Anthropic reports cache writes; OpenAI and Gemini charge none per call.
      const writes = provider === 'anthropic' ? 100 : 0;
      const costUsd = ((1000 - 400 - writes) * 2 + 400 * 0.5 + writes * 2.5 + 500 * 8) / 1_000_000;
      expect(res.usage).toEqual({ inputTokens: 1000, outputTokens: 500, cachedReadTokens: 400, ...(writes ? { cacheWriteTokens: writes } : {}), costUsd });
      // What the cache reads saved against the uncached input price.
      const saved = (400 * (2 - 0.5)) / 1_000_000;
      expect(await usageRows(taskId)).toEqual([
        { model: primary, provider, outcome: 'ok', input_tokens: 1000, output_tokens: 500, cached_read_tokens: 400, cache_write_tokens: writes, cost: costUsd, saved },
      ]);
      if (provider === 'anthropic') {
        // On the wire, Anthropic's input_tokens leaves the cached parts out: the adapter adds them back.
        server.enqueue({ content: 'again', usage: { promptTokens: 1000, completionTokens: 1, cachedReadTokens: 900 } });
        const again = await pair().chat(ask);
        expect(again.usage).toMatchObject({ inputTokens: 1000, cachedReadTokens: 900 });
      }
    });

    it('asks for JSON output and returns the JSON', async () => {
      server.enqueue({ content: JSON.stringify({ sql: 'SELECT 1', reason: 'test' }) });
      const res = await pair().chat({ ...ask, responseFormat: 'json' });
      expect(JSON.parse(res.content)).toEqual({ sql: 'SELECT 1', reason: 'test' });
      const body = chats()[0]!.body as Record<string, unknown>;
      if (provider === 'openai') expect(body.response_format).toEqual({ type: 'json_object' });
      if (provider === 'anthropic') expect(body.tool_choice).toEqual({ type: 'tool', name: 'json_reply' });
      if (provider === 'gemini') expect(body.generationConfig).toMatchObject({ responseMimeType: 'application/json' });
    });

    it('calls a tool with arguments, and sends its result back in the provider\'s shape', async () => {
      server.enqueue({ toolCalls: [{ name: 'lookup_order', arguments: { orderId: 'A-17' } }] });
      const first = await pair().chat({ ...ask, tools: [lookupOrder] });
      expect(first.toolCalls).toHaveLength(1);
      const call = first.toolCalls[0]!;
      expect(call).toMatchObject({ name: 'lookup_order', id: expect.any(String) });
      expect(JSON.parse(call.arguments)).toEqual({ orderId: 'A-17' });

      server.enqueue({ content: 'Order A-17 shipped.' });
      const transcript: ChatMessage[] = [
        ...ask.messages,
        { role: 'assistant', content: '', toolCalls: [call] },
        { role: 'tool', toolCallId: call.id, content: '{"status":"shipped"}' },
      ];
      const second = await pair().chat({ messages: transcript, tools: [lookupOrder] });
      expect(second.content).toBe('Order A-17 shipped.');
      const body = chats()[1]!.body as Record<string, unknown>;
      const sent = JSON.stringify(body);
      if (provider === 'openai') expect(body.messages).toContainEqual({ role: 'tool', tool_call_id: call.id, content: '{"status":"shipped"}' });
      if (provider === 'anthropic') {
        expect(sent).toContain(JSON.stringify({ type: 'tool_use', id: call.id, name: 'lookup_order', input: { orderId: 'A-17' } }));
        expect(sent).toContain(JSON.stringify({ type: 'tool_result', tool_use_id: call.id, content: '{"status":"shipped"}' }));
      }
      if (provider === 'gemini') {
        // A functionResponse names the function it answers; the gateway remembers it from the call.
        expect(body.contents).toContainEqual({
          role: 'user',
          parts: [{ functionResponse: { id: call.id, name: 'lookup_order', response: { output: '{"status":"shipped"}' } } }],
        });
        expect(JSON.stringify(body.tools)).toContain('"parametersJsonSchema"');
      }
    });

    it('forces a tool call when the request requires one, any tool or the one named', async () => {
      server.enqueue({ toolCalls: [{ name: 'lookup_order', arguments: { orderId: 'A-17' } }] });
      await pair().chat({ ...ask, tools: [lookupOrder], toolChoice: 'required' });
      server.enqueue({ toolCalls: [{ name: 'lookup_order', arguments: { orderId: 'A-18' } }] });
      await pair().chat({ ...ask, tools: [lookupOrder], toolChoice: { name: 'lookup_order' } });
      const [any, named] = chats().map((c) => c.body as Record<string, unknown>);
      if (provider === 'openai') {
        expect(any!.tool_choice).toBe('required');
        expect(named!.tool_choice).toEqual({ type: 'function', function: { name: 'lookup_order' } });
      }
      if (provider === 'anthropic') {
        expect(any!.tool_choice).toEqual({ type: 'any' });
        expect(named!.tool_choice).toEqual({ type: 'tool', name: 'lookup_order' });
      }
      if (provider === 'gemini') {
        expect(any!.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
        expect(named!.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['lookup_order'] } });
      }
      // Without a choice the provider's default (auto) stands: nothing is sent.
      server.enqueue({ content: 'Fine.' });
      await pair().chat({ ...ask, tools: [lookupOrder] });
      const auto = chats()[2]!.body as Record<string, unknown>;
      expect(auto.tool_choice ?? auto.toolConfig).toBeUndefined();
    });

    it('streams deltas, with usage from the stream', async () => {
      server.enqueue({ content: 'Returns cost a fifteen percent fee.', usage: { promptTokens: 300, completionTokens: 9, cachedReadTokens: 200 } });
      const deltas: string[] = [];
      const res = await pair().chat({ ...ask, onDelta: (d) => deltas.push(d) });
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.join('')).toBe('Returns cost a fifteen percent fee.');
      expect(res.content).toBe('Returns cost a fifteen percent fee.');
      expect(res.usage).toMatchObject({ inputTokens: 300, outputTokens: 9, cachedReadTokens: 200 });
      const path = chats()[0]!.path;
      if (provider === 'gemini') expect(path).toBe(`/v1beta/models/${primary}:streamGenerateContent`);
      else expect((chats()[0]!.body as { stream?: boolean }).stream).toBe(true);
    });

    it.each([
      ['a 429', { error: { status: 429 } }, 'rate_limited'],
      ['a 500', { error: { status: 500 } }, 'server_error'],
      ['a 503', { error: { status: 503 } }, 'server_error'],
      ['a timeout', { hangMs: 2_000 }, 'timeout'],
      ['a reply without content', { malformed: 'missing-choices' as const }, 'malformed'],
      ['a body that is not JSON', { malformed: 'invalid-json' as const }, 'malformed'],
    ])('falls back to the next model on %s', async (_label, fault, outcome) => {
      server.enqueue({ ...fault, match: { model: primary } }, { content: 'from secondary', match: { model: secondary } });
      const taskId = uniqueId('task');
      const res = await pair().chat(ask, { taskId });
      expect(res).toMatchObject({ model: secondary, content: 'from secondary' });
      expect(res.attempts.map((a) => [a.model, a.outcome])).toEqual([
        [primary, outcome],
        [secondary, 'ok'],
      ]);
      expect((await usageRows(taskId)).map((r) => r.outcome)).toEqual([outcome, 'ok']);
    });

    it('never returns a stream that broke mid-answer as a success', async () => {
      server.enqueue({ malformed: 'close-socket', match: { model: primary } }, { content: 'whole answer', match: { model: secondary } });
      const deltas: string[] = [];
      const res = await pair().chat({ ...ask, onDelta: (d) => deltas.push(d) }).catch((e: unknown) => e);
      if (provider === 'gemini') {
        // Gemini's cut stream carries text before the break: the caller saw part of an answer, so it fails loudly.
        expect(deltas.join('')).toBe('cut ');
        expect(res).toBeInstanceOf(ApplicationFailure);
        expect(res).toMatchObject({ type: STREAM_BROKEN_AFTER_RELEASE, nonRetryable: false });
      } else {
        // Nothing shown yet: the next model answers in its place.
        expect(res).toMatchObject({ model: secondary, content: 'whole answer' });
        expect(deltas.join('')).toBe('whole answer');
        expect((res as ChatResult).attempts[0]!.outcome).not.toBe('ok');
      }
    });

    it('does not fall back on a request the provider rejects', async () => {
      server.enqueue({ error: { status: 400, message: 'bad parameter' } });
      const err = await pair().chat(ask).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect((err as ApplicationFailure).nonRetryable).toBe(true);
      expect(chats()).toHaveLength(1);
    });
  });

  it('falls back across providers: Anthropic rate-limited, Gemini down, OpenAI answers', async () => {
    server.enqueue(
      { error: { status: 429, retryAfterSeconds: 1 }, match: { model: 'claude' } },
      { error: { status: 503 }, match: { model: 'gemini' } },
      { content: 'from gpt', usage: { promptTokens: 100, completionTokens: 10, cachedReadTokens: 50 }, match: { model: 'gpt' } },
    );
    const taskId = uniqueId('task');
    const res = await gateway(['claude', 'gemini', 'gpt'], [
      { name: 'claude', provider: 'anthropic' },
      { name: 'gemini', provider: 'gemini' },
      { name: 'gpt', provider: 'openai' },
    ]).chat(ask, { taskId });
    expect(res).toMatchObject({ model: 'gpt', content: 'from gpt', usage: { inputTokens: 100, cachedReadTokens: 50 } });
    expect(res.attempts.map((a) => [a.model, a.outcome])).toEqual([
      ['claude', 'rate_limited'],
      ['gemini', 'server_error'],
      ['gpt', 'ok'],
    ]);
    expect(server.requests.map((r) => r.wire)).toEqual(['anthropic', 'gemini', 'openai']);
    expect((await usageRows(taskId)).map((r) => [r.provider, r.outcome])).toEqual([
      ['anthropic', 'rate_limited'],
      ['gemini', 'server_error'],
      ['openai', 'ok'],
    ]);
  });

  it('skips a model without tool calling when the request offers tools', async () => {
    const config = testConfig({
      ANTHROPIC_BASE_URL: server.origin,
      ANTHROPIC_API_KEY: 'sk-scripted',
      GEMINI_BASE_URL: server.origin,
      GEMINI_API_KEY: 'sk-scripted',
      GATEHOUSE_CHAT_MODEL: 'no-tools',
      GATEHOUSE_MODEL_FALLBACKS: 'with-tools',
      GATEHOUSE_MODELS: JSON.stringify([
        { name: 'no-tools', provider: 'gemini', capabilities: { tools: false } },
        { name: 'with-tools', provider: 'anthropic' },
      ]),
    });
    server.enqueue({ toolCalls: [{ name: 'lookup_order', arguments: { orderId: 'B-2' } }] });
    const res = await new ModelGateway({ registry: config.models.registry, chain: config.models.chain }).chat({ ...ask, tools: [lookupOrder] });
    expect(res.model).toBe('with-tools');
    expect(res.attempts[0]).toMatchObject({ model: 'no-tools', outcome: 'unsupported' });
    expect(server.requests.map((r) => r.wire)).toEqual(['anthropic']);
  });
});
