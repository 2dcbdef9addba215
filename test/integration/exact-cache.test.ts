// The exact cache of model responses, in real Postgres, through the gateway and the real `openai`
// client: a repeated request is served from it at no cost, never across tenants or users; time-
// sensitive questions, sampling and tool calls are not cached; entries expire and are evicted
// least recently (or least often) used when a tenant outgrows its budget.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExactCache } from '../../activities/cache/exact.js';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import type { CacheSettings } from '../../infra/config.js';
import type { Services } from '../../infra/services.js';
import { testConfig, testLog, testServices, uniqueId, allLayers } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

describe('the exact response cache', () => {
  let server: ScriptedModelServer;
  let services: Services;
  const tenant = uniqueId('acme');
  const other = uniqueId('globex');

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary'] });
    services = await testServices('pglite');
    for (const t of [tenant, other]) await services.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [t]);
  });
  afterAll(async () => {
    await server.close();
    await services.close();
  });
  beforeEach(() => {
    server.reset();
    server.onChat((req) => ({ content: `answer ${server.requests.length}: ${JSON.stringify(req.messages.at(-1)?.content)}`, usage: { promptTokens: 1000, completionTokens: 100 } }));
  });

  const gateway = (cache: Partial<CacheSettings> = {}) => {
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      GATEHOUSE_CHAT_MODEL: 'primary',
      GATEHOUSE_MODEL_RETRIES: '0',
      GATEHOUSE_MODELS: JSON.stringify([{ name: 'primary', inputPricePerMTok: 2, outputPricePerMTok: 8 }]),
      GATEHOUSE_CACHE: 'exact',
    });
    return new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, cache: { ...config.cache!, ...cache }, db: services.db, log: testLog });
  };
  const ask = (content: string, extra: object = {}) => ({ messages: [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content }], maxTokens: 50, temperature: 0, ...extra });
  const chats = () => server.requests.filter((r) => r.kind === 'chat').length;

  it('serves a repeated request from the cache, at no cost, and says what it saved', async () => {
    const g = gateway();
    const question = `What is the restocking fee? ${uniqueId('q')}`;
    const first = await g.chat(ask(question), { tenantId: tenant, requestId: uniqueId('r') });
    expect(first.cache).toMatchObject({ layer: 'exact', outcome: 'stored', scope: 'tenant' });
    const second = await g.chat(ask(question), { tenantId: tenant, requestId: uniqueId('r') });
    expect(second).toMatchObject({ content: first.content, model: 'primary', usage: { costUsd: 0 }, cache: { outcome: 'hit', savedUsd: first.usage.costUsd } });
    expect(first.usage.costUsd).toBeGreaterThan(0);
    expect(chats()).toBe(1);
    // A different system prompt is a different request.
    const other = await g.chat({ ...ask(question), messages: [{ role: 'system', content: 'Be thorough.' }, { role: 'user', content: question }] }, { tenantId: tenant, requestId: uniqueId('r') });
    expect(other.cache?.outcome).toBe('stored');
    expect(chats()).toBe(2);
  });

  it("never serves one tenant's entry to another", async () => {
    const g = gateway();
    const question = `Which networks does the Jet 5 join? ${uniqueId('q')}`;
    await g.chat(ask(question), { tenantId: tenant, requestId: uniqueId('r') });
    const theirs = await g.chat(ask(question), { tenantId: other, requestId: uniqueId('r') });
    expect(theirs.cache?.outcome).toBe('stored');
    expect(chats()).toBe(2);
  });

  it("keeps a user-specific answer to its user, and caches none without one", async () => {
    const g = gateway();
    const question = `Where is my order? ${uniqueId('q')}`;
    const ada = await g.chat(ask(question), { tenantId: tenant, userId: 'ada', requestId: uniqueId('r') });
    expect(ada.cache).toMatchObject({ outcome: 'stored', scope: 'user' });
    expect((await g.chat(ask(question), { tenantId: tenant, userId: 'ada', requestId: uniqueId('r') })).cache?.outcome).toBe('hit');
    const bob = await g.chat(ask(question), { tenantId: tenant, userId: 'bob', requestId: uniqueId('r') });
    expect(bob.cache?.outcome).toBe('stored');
    expect(bob.content).not.toBe(ada.content);
    const nobody = await g.chat(ask(question), { tenantId: tenant, requestId: uniqueId('r') });
    expect(nobody.cache).toMatchObject({ outcome: 'uncacheable', reason: expect.stringContaining('no user is known') });
    // Masked PII is never shared either.
    const masked = await g.chat(ask(`Email [EMAIL_ADDRESS_1] the invoice ${uniqueId('q')}`), { tenantId: tenant, requestId: uniqueId('r') });
    expect(masked.cache).toMatchObject({ outcome: 'uncacheable', reason: expect.stringContaining('masked PII') });
  });

  it('does not cache time-sensitive questions, sampling or tool calls', async () => {
    const g = gateway();
    const today = `Is the store open today? ${uniqueId('q')}`;
    await g.chat(ask(today), { tenantId: tenant, requestId: uniqueId('r') });
    const again = await g.chat(ask(today), { tenantId: tenant, requestId: uniqueId('r') });
    expect(again.cache).toMatchObject({ outcome: 'uncacheable', reason: expect.stringContaining('time-sensitive') });
    const sampled = await g.chat(ask(`Write a slogan ${uniqueId('q')}`, { temperature: 0.7 }), { tenantId: tenant, requestId: uniqueId('r') });
    expect(sampled.cache?.reason).toMatch(/sampling/);
    server.onChat(() => ({ toolCalls: [{ id: 'c1', name: 'lookup', arguments: {} }] }));
    const tools = await g.chat(ask(`Look it up ${uniqueId('q')}`, { tools: [{ name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: {} } }] }), { tenantId: tenant, requestId: uniqueId('r') });
    expect(tools.cache?.reason).toBe('tools offered');
    expect(chats()).toBe(4);
  });

  it('keeps a masked request to its own task, judges the question and not its passages, and caches sampling only where the route allows it', async () => {
    const g = gateway();
    // [EMAIL_ADDRESS_1] is another address in another task's vault: the same words are another request.
    const masked = ask(`Email [EMAIL_ADDRESS_1] the invoice ${uniqueId('q')}`);
    // The gateway reads a task's caller from its row.
    const task = async () => {
      const id = uniqueId('task');
      await services.db.query("INSERT INTO tasks (id, tenant_id, type, request_hash, user_id) VALUES ($1, $2, 'answer', 'h', 'ada')", [id, tenant]);
      return id;
    };
    const [one, two] = [await task(), await task()];
    expect((await g.chat(masked, { tenantId: tenant, taskId: one, requestId: uniqueId('r') })).cache).toMatchObject({ outcome: 'stored', scope: 'user' });
    expect((await g.chat(masked, { tenantId: tenant, taskId: one, requestId: uniqueId('r') })).cache?.outcome).toBe('hit');
    expect((await g.chat(masked, { tenantId: tenant, taskId: two, requestId: uniqueId('r') })).cache?.outcome).toBe('stored');
    // An answer's prompt carries its passages; a passage that says "current" is not the question.
    const question = `What is the restocking fee? ${uniqueId('q')}`;
    const answer = ask(`Passages:\n[1] The current fee is 15%.\n\nQuestion: ${question}`, { offline: { kind: 'answer', question, passages: [{ text: 'The current fee is 15%.', title: null, heading: '' }] } });
    expect((await g.chat(answer, { tenantId: tenant, requestId: uniqueId('r') })).cache).toMatchObject({ outcome: 'stored', scope: 'tenant' });
    const sampled = ask(`Write a slogan ${uniqueId('q')}`, { temperature: 0.7, cacheRoute: { name: 'slogans', policy: { allowSampling: true } } });
    expect((await g.chat(sampled, { tenantId: tenant, requestId: uniqueId('r') })).cache?.outcome).toBe('stored');
    expect((await g.chat(sampled, { tenantId: tenant, requestId: uniqueId('r') })).cache?.outcome).toBe('hit');
  });

  it('expires entries after their TTL', async () => {
    const g = gateway({ ttlSeconds: 1 });
    const question = `How do I clear a jam? ${uniqueId('q')}`;
    await g.chat(ask(question), { tenantId: tenant, requestId: uniqueId('r') });
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await g.chat(ask(question), { tenantId: tenant, requestId: uniqueId('r') })).cache?.outcome).toBe('stored');
    expect(chats()).toBe(2);
  });

  describe('with the cacheability classifier model', () => {
    const classifying = () => {
      const config = testConfig({
        OPENAI_BASE_URL: server.baseUrl,
        GATEHOUSE_CHAT_MODEL: 'primary',
        GATEHOUSE_MODEL_RETRIES: '0',
        GATEHOUSE_MODELS: JSON.stringify([{ name: 'primary', inputPricePerMTok: 2, outputPricePerMTok: 8 }, { name: 'classifier' }]),
        GATEHOUSE_CACHE: 'exact',
        GATEHOUSE_CACHE_CLASSIFIER_MODEL: 'classifier',
      });
      return new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, cache: config.cache, db: services.db, log: testLog });
    };
    /** The classifier says `verdict` (or fails); the answering model answers. */
    const classifierSays = (verdict: object | 'fail') =>
      server.onChat((req) => {
        if (req.model !== 'classifier') return { content: `answer ${server.requests.length}` };
        return verdict === 'fail' ? { error: { status: 500, message: 'classifier down' } } : { content: JSON.stringify(verdict) };
      });
    const classifierCalls = () => server.requests.filter((r) => r.kind === 'chat' && r.model === 'classifier').length;

    it("keeps an answer the rules would share to its user when the model says 'user'", async () => {
      classifierSays({ scope: 'user', reason: 'about one account' });
      const g = classifying();
      const question = `What is the restocking fee on order 1004? ${uniqueId('q')}`;
      const ada = await g.chat(ask(question), { tenantId: tenant, userId: 'ada', requestId: uniqueId('r') });
      expect(ada.cache).toMatchObject({ outcome: 'stored', scope: 'user' });
      const { rows } = await services.db.query<{ scope: string }>("SELECT scope FROM cache_entries WHERE tenant_id = $1 AND layer = 'model' AND key = $2", [tenant, ada.cache!.key]);
      expect(rows).toEqual([{ scope: 'ada' }]);
      // Another user asks: not served Ada's entry. The verdict is remembered: one classifier call.
      const bob = await g.chat(ask(question), { tenantId: tenant, userId: 'bob', requestId: uniqueId('r') });
      expect(bob.cache).toMatchObject({ outcome: 'stored', scope: 'user' });
      expect(classifierCalls()).toBe(1);
      // Its question was neither cached nor classified itself, and was held to the caller's limits (a usage row of its own).
      const usage = await services.db.query<{ step: string | null }>("SELECT step FROM model_usage WHERE tenant_id = $1 AND model = 'classifier'", [tenant]);
      expect(usage.rows.map((r) => r.step)).toEqual(['cache_classify']);
    });

    it("does not cache an answer when the model says 'none'", async () => {
      classifierSays({ scope: 'none', reason: 'stock changes' });
      const g = classifying();
      const question = `Is the Jet 5 in the warehouse? ${uniqueId('q')}`;
      const first = await g.chat(ask(question), { tenantId: tenant, requestId: uniqueId('r') });
      expect(first.cache).toEqual({ layer: 'exact', outcome: 'uncacheable', reason: 'classifier: stock changes' });
      await g.chat(ask(question), { tenantId: tenant, requestId: uniqueId('r') });
      expect(chats() - classifierCalls()).toBe(2);
    });

    it('never widens what the rules refuse or restrict, and does not ask', async () => {
      classifierSays({ scope: 'tenant' });
      const g = classifying();
      expect((await g.chat(ask(`Is the store open today? ${uniqueId('q')}`), { tenantId: tenant, requestId: uniqueId('r') })).cache?.reason).toMatch(/time-sensitive/);
      expect((await g.chat(ask(`Where is my order? ${uniqueId('q')}`), { tenantId: tenant, userId: 'ada', requestId: uniqueId('r') })).cache).toMatchObject({ outcome: 'stored', scope: 'user' });
      expect(classifierCalls()).toBe(0);
    });

    it("falls back to the rules' verdict when the model fails", async () => {
      classifierSays('fail');
      const g = classifying();
      const question = `Which networks does the Jet 5 join? ${uniqueId('q')}`;
      expect((await g.chat(ask(question), { tenantId: tenant, requestId: uniqueId('r') })).cache).toMatchObject({ outcome: 'stored', scope: 'tenant' });
      expect((await g.chat(ask(question), { tenantId: tenant, requestId: uniqueId('r') })).cache?.outcome).toBe('hit');
      // A failure is not remembered: the next question asks again.
      expect(classifierCalls()).toBe(2);
    });

    it('runs offline: the local model answers the question by its own rules', async () => {
      const config = testConfig({ GATEHOUSE_CACHE: 'exact', GATEHOUSE_CACHE_CLASSIFIER_MODEL: 'local' });
      const g = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, cache: config.cache, db: services.db, log: testLog });
      const offline = (question: string) => ({ ...ask(question), offline: { kind: 'answer' as const, question, passages: [{ text: 'The restocking fee is 15%.', title: 'Returns', heading: 'Fees' }] } });
      expect((await g.chat(offline(`What is the restocking fee? ${uniqueId('q')}`), { tenantId: tenant, requestId: uniqueId('r') })).cache).toMatchObject({ outcome: 'stored', scope: 'tenant' });
      expect((await g.chat(offline(`Is the Jet 5 in stock? ${uniqueId('q')}`), { tenantId: tenant, requestId: uniqueId('r') })).cache).toMatchObject({ outcome: 'uncacheable', reason: expect.stringContaining('in stock') });
      expect((await g.chat(offline(`What was refunded on order 1004? ${uniqueId('q')}`), { tenantId: tenant, userId: 'ada', requestId: uniqueId('r') })).cache).toMatchObject({ outcome: 'stored', scope: 'user' });
    });
  });

  it.each(['lru', 'lfu'] as const)('evicts past the tenant budget, %s', async (eviction) => {
    const t = uniqueId('evict');
    await services.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1)', [t]);
    const cache = new ExactCache(services.db, { ...allLayers, ttlSeconds: 60, maxBytesPerTenant: 250, eviction });
    const at = (key: string) => ({ tenantId: t, layer: 'model' as const, scope: '', key });
    const value = { content: 'x'.repeat(80) }; // ~95 bytes: two fit, three do not
    await cache.put(at('a'), value);
    await cache.get(at('a'));
    await cache.get(at('a'));
    await new Promise((r) => setTimeout(r, 20));
    await cache.put(at('b'), value);
    await new Promise((r) => setTimeout(r, 20));
    await cache.put(at('c'), value);
    const { rows } = await services.db.query<{ key: string }>('SELECT key FROM cache_entries WHERE tenant_id = $1 ORDER BY key', [t]);
    // lru keeps the two most recently used (b, c); lfu keeps a (two hits) and the newest (c).
    expect(rows.map((r) => r.key)).toEqual(eviction === 'lru' ? ['b', 'c'] : ['a', 'c']);
  });
});
