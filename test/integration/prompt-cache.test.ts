// Prompt caching through the gateway, over real HTTP against the scripted server and real Postgres:
// Anthropic's cache breakpoints placed on the stable prefix (and not under the model's minimum),
// the prompt-prefix hash every model_usage row carries, what the prompt cache and the exact cache
// saved, and the per-prefix report, within one tenant.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { promptCacheReport, usageReport } from '../../activities/gateway/limits/index.js';
import type { ChatMessage, ToolSpec } from '../../activities/gateway/types.js';
import { recordSavedCost } from '../../activities/gateway/usage.js';
import { countTokens } from '../../activities/tokens.js';
import type { Services } from '../../infra/services.js';
import { testConfig, testLog, testServices, uniqueId } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

const PRICES = { inputPricePerMTok: 3, outputPricePerMTok: 15, cachedInputPricePerMTok: 0.3, cacheWritePricePerMTok: 3.75 };
/** Comfortably over Anthropic's 1024-token minimum by any count. */
const LONG_POLICY = Array.from({ length: 400 }, (_, i) => `Rule ${i + 1}: refunds of opened printers carry a restocking fee.`).join('\n');
const sys = (content: string): ChatMessage => ({ role: 'system', content });
const user = (content: string): ChatMessage => ({ role: 'user', content });
const lookupOrder: ToolSpec = { name: 'lookup_order', description: 'Find an order by its id.', parameters: { type: 'object', properties: { orderId: { type: 'string' } } } };

describe('prompt caching', () => {
  let server: ScriptedModelServer;
  let services: Services;
  const tenant = uniqueId('acme');
  const other = uniqueId('globex');

  beforeAll(async () => {
    server = await startScriptedModelServer();
    services = await testServices('pglite');
    for (const t of [tenant, other]) await services.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [t]);
  });
  afterAll(async () => {
    await server.close();
    await services.close();
  });
  beforeEach(() => server.reset());

  const gateway = (env: Record<string, string> = {}) => {
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      ANTHROPIC_BASE_URL: server.origin,
      GEMINI_BASE_URL: server.origin,
      GATEHOUSE_CHAT_MODEL: 'claude',
      GATEHOUSE_MODEL_RETRIES: '0',
      GATEHOUSE_MODELS: JSON.stringify([
        { name: 'claude', provider: 'anthropic', ...PRICES },
        // Haiku 3.5 caches nothing under 2048 tokens.
        { name: 'haiku', provider: 'anthropic', promptCacheMinTokens: 2048, ...PRICES },
        { name: 'gpt', provider: 'openai', ...PRICES },
        { name: 'flash', provider: 'gemini', ...PRICES },
      ]),
      ...env,
    });
    return new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, cache: config.cache, db: services.db, log: testLog });
  };
  const lastBody = () => server.requests.filter((r) => r.kind === 'chat').at(-1)!.body as Record<string, unknown>;
  /** Every block of a request body that carries a breakpoint, as `where` labels. */
  const breakpoints = (body: Record<string, unknown>) => {
    const marked: string[] = [];
    const scan = (blocks: unknown, where: string) =>
      (Array.isArray(blocks) ? blocks : []).forEach((b: { cache_control?: unknown }, i, all) => b.cache_control && marked.push(`${where}[${i === all.length - 1 ? 'last' : i}]`));
    scan(body.tools, 'tools');
    scan(body.system, 'system');
    (body.messages as Array<{ content: unknown }>).forEach((m, i) => scan(m.content, `messages[${i}]`));
    return marked;
  };
  const rows = async (taskId: string) =>
    (
      await services.db.query(
        `SELECT model, provider, outcome, prompt_prefix, input_tokens, cached_read_tokens, cost_usd::float8 AS cost, saved_usd::float8 AS saved, key_id
           FROM model_usage WHERE task_id = $1 ORDER BY id`,
        [taskId],
      )
    ).rows;

  describe('Anthropic breakpoints', () => {
    it('marks the system prompt and the conversation so far once the prefix is long enough, never the newest turn', async () => {
      server.enqueue({ content: 'ok' });
      const conversation = [sys(LONG_POLICY), user('Fee for an opened printer?'), { role: 'assistant' as const, content: '15%.' }, user('And for a scanner?')];
      await gateway().chat({ messages: conversation, tools: [lookupOrder] });
      const body = lastBody();
      // The short tool list alone is under the minimum; the system prompt after it is not.
      expect(breakpoints(body)).toEqual(['system[last]', 'messages[1][last]']);
      expect(body.system).toEqual([{ type: 'text', text: LONG_POLICY, cache_control: { type: 'ephemeral' } }]);
      expect((body.messages as unknown[]).length).toBe(3);
    });

    it('marks the last tool when the tool schemas alone are long enough: three breakpoints, within the four allowed', async () => {
      server.enqueue({ content: 'ok' });
      const manual: ToolSpec = { ...lookupOrder, name: 'read_manual', description: LONG_POLICY };
      await gateway().chat({ messages: [sys('Answer briefly.'), user('one'), { role: 'assistant', content: 'two' }, user('three')], tools: [lookupOrder, manual] });
      expect(breakpoints(lastBody())).toEqual(['tools[last]', 'system[last]', 'messages[1][last]']);
    });

    it('places none on a prompt under the minimum, or under a model’s own higher minimum', async () => {
      server.enqueue({ content: 'ok' }, { content: 'ok' });
      await gateway().chat({ messages: [sys('Answer briefly.'), user('What is the restocking fee?')] });
      expect(breakpoints(lastBody())).toEqual([]);
      expect(lastBody().system).toEqual([{ type: 'text', text: 'Answer briefly.' }]);
      // Over claude's 1024, under haiku's 2048.
      const mid = LONG_POLICY.split('\n').slice(0, 100).join('\n');
      expect(countTokens(mid)).toBeGreaterThan(1100);
      expect(countTokens(mid)).toBeLessThan(1900);
      await gateway().chat({ messages: [sys(mid), user('Fee?')], model: 'haiku' });
      expect(breakpoints(lastBody())).toEqual([]);
      server.enqueue({ content: 'ok' });
      await gateway().chat({ messages: [sys(mid), user('Fee?')] });
      expect(breakpoints(lastBody())).toEqual(['system[last]']);
    });
  });

  it('hashes the stable prefix into every row: alike for other user text, not for another system prompt', async () => {
    const taskId = uniqueId('task');
    const g = gateway();
    for (const [system, question] of [['Be brief.', 'one'], ['Be brief.', 'two'], ['Be thorough.', 'one']]) {
      server.enqueue({ content: 'ok' });
      await g.chat({ messages: [sys(system!), user(question!)], model: 'gpt' }, { tenantId: tenant, taskId, requestId: uniqueId('r') });
    }
    const [a, b, c] = (await rows(taskId)).map((r) => r.prompt_prefix as string);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it.each(['claude', 'gpt', 'flash'])('%s: cached reads priced at the cached rate, and what they saved recorded', async (model) => {
    const taskId = uniqueId('task');
    server.enqueue({ content: 'ok', usage: { promptTokens: 10_000, completionTokens: 100, cachedReadTokens: 8_000 } });
    const res = await gateway().chat({ messages: [sys(LONG_POLICY), user('Fee?')], model }, { tenantId: tenant, taskId, requestId: uniqueId('r') });
    const costUsd = (2_000 * 3 + 8_000 * 0.3 + 100 * 15) / 1e6;
    expect(res.usage).toEqual({ inputTokens: 10_000, outputTokens: 100, cachedReadTokens: 8_000, costUsd });
    expect(await rows(taskId)).toEqual([
      expect.objectContaining({ model, outcome: 'ok', input_tokens: 10_000, cached_read_tokens: 8_000, cost: costUsd, saved: (8_000 * (3 - 0.3)) / 1e6 }),
    ]);
  });

  it('an exact-cache hit is a row of no tokens and no cost that says what it saved', async () => {
    const g = gateway({ GATEHOUSE_CACHE: 'exact' });
    const taskId = uniqueId('task');
    const ask = { messages: [sys('Be brief.'), user(`What is the restocking fee? ${uniqueId('q')}`)], model: 'gpt', temperature: 0 };
    server.enqueue({ content: 'It is 15%.', usage: { promptTokens: 1000, completionTokens: 100 } });
    const first = await g.chat(ask, { tenantId: tenant, taskId, keyId: 'key-1', requestId: uniqueId('r') });
    const second = await g.chat(ask, { tenantId: tenant, taskId, keyId: 'key-1', requestId: uniqueId('r') });
    expect(second.cache).toMatchObject({ outcome: 'hit', savedUsd: first.usage.costUsd });
    const [call, hit] = await rows(taskId);
    expect(call).toMatchObject({ outcome: 'ok', saved: 0 });
    expect(hit).toEqual({ ...call, provider: 'cache', outcome: 'cache_hit', input_tokens: 0, cached_read_tokens: 0, cost: 0, saved: first.usage.costUsd });
  });

  it('reports the hit ratio per prefix from the cached tokens providers reported, and usage what was saved, per tenant', async () => {
    const g = gateway();
    const system = `You answer from the manual. ${uniqueId('v')}`;
    const taskId = uniqueId('task');
    // A cold call writes the cache, two warm ones read it; a failed attempt counts for nothing.
    server.enqueue(
      { content: 'a', usage: { promptTokens: 2000, completionTokens: 10, cacheWriteTokens: 1800 } },
      { content: 'b', usage: { promptTokens: 2000, completionTokens: 10, cachedReadTokens: 1800 } },
      { error: { status: 400 } },
      { content: 'c', usage: { promptTokens: 2200, completionTokens: 10, cachedReadTokens: 1800 } },
    );
    for (const q of ['one', 'two', 'three', 'four']) {
      await g.chat({ messages: [sys(system), user(q)] }, { tenantId: tenant, taskId, step: 'generate', requestId: uniqueId('r') }).catch(() => undefined);
    }
    const prefix = (await rows(taskId))[0]!.prompt_prefix as string;
    await recordSavedCost(services.db, { tenantId: tenant, taskId, step: 'generate', model: 'claude', savedUsd: 0.01, outcome: 'cache_hit', promptPrefix: prefix });

    const report = await promptCacheReport(services.db, tenant, { limit: 500 });
    const row = report.find((r) => r.prefix === prefix);
    expect(row).toEqual({
      tenantId: tenant,
      prefix,
      model: 'claude',
      steps: ['generate'],
      calls: 3,
      inputTokens: 6200,
      cachedReadTokens: 3600,
      cacheWriteTokens: 1800,
      hitRatio: Math.round((3600 / 6200) * 1e4) / 1e4,
      cacheReadCallShare: 0.6667,
      costUsd: expect.any(Number),
      savedUsd: (3600 * (3 - 0.3)) / 1e6,
    });
    const [usage] = await usageReport(services.db, tenant, { groupBy: ['task'] }).then((r) => r.filter((u) => u.task === taskId));
    // Both caches' savings: the prompt cache's reads and the semantic cache's hit.
    expect(usage).toMatchObject({ calls: 5, savedUsd: Math.round(((3600 * 2.7) / 1e6 + 0.01) * 1e8) / 1e8 });

    expect((await promptCacheReport(services.db, other, { limit: 500 })).find((r) => r.prefix === prefix)).toBeUndefined();
    expect((await usageReport(services.db, other, { groupBy: ['task'] })).find((u) => u.task === taskId)).toBeUndefined();
  });
});
