// The caches on the OpenAI-compatible proxy, with the real `openai` client: a repeated completion
// is served from the exact cache (no model call, no usage), never to another tenant, and a
// user-specific question is kept to the person whose key asked it; a reworded one from the
// semantic cache, under the same system prompt only, and never a near miss the guard stops.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../api/auth.js';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { uniqueId } from '../support/harness.js';

describe('the proxy through the exact cache', () => {
  let api: TestApi;
  const client = (apiKey: string) => new OpenAI({ baseURL: `${api.base}/v1`, apiKey, maxRetries: 0 });
  const chats = () => api.model.requests.filter((r) => r.kind === 'chat').length;

  beforeAll(async () => {
    api = await startTestApi({ GATEHOUSE_CACHE: 'exact' });
    api.model.onChat(() => ({ content: `reply ${uniqueId('r')}`, usage: { promptTokens: 50, completionTokens: 5 } }));
  });
  afterAll(() => api?.close());

  it('serves a repeated completion from the cache, and not to another tenant', async () => {
    const ask = { model: 'primary', temperature: 0, messages: [{ role: 'user' as const, content: `How do I clear a jam? ${uniqueId('q')}` }] };
    const first = await client(api.keys.admin).chat.completions.create(ask);
    const second = await client(api.keys.admin).chat.completions.create(ask);
    expect(second.choices[0]!.message.content).toBe(first.choices[0]!.message.content);
    expect(second.usage).toMatchObject({ prompt_tokens: 0, completion_tokens: 0 });
    expect(chats()).toBe(1);
    const theirs = await client(api.keys.other).chat.completions.create(ask);
    expect(theirs.choices[0]!.message.content).not.toBe(first.choices[0]!.message.content);
    expect(chats()).toBe(2);
  });

  it("keeps a user-specific answer to the person who asked", async () => {
    const person = async (name: string) => {
      const { rows } = await api.services.db.query<{ id: string }>("INSERT INTO users (id, tenant_id, name, roles) VALUES ($1, $2, $1, '{models:call}') RETURNING id", [uniqueId(name), api.tenant]);
      return (await createApiKey(api.services.db, { tenantId: api.tenant, roles: ['models:call'], userId: rows[0]!.id })).key;
    };
    const [ada, bob] = [await person('ada'), await person('bob')];
    const ask = { model: 'primary', temperature: 0, messages: [{ role: 'user' as const, content: `Where is my order? ${uniqueId('q')}` }] };
    const a1 = await client(ada).chat.completions.create(ask);
    const a2 = await client(ada).chat.completions.create(ask);
    expect(a2.choices[0]!.message.content).toBe(a1.choices[0]!.message.content);
    const b1 = await client(bob).chat.completions.create(ask);
    expect(b1.choices[0]!.message.content).not.toBe(a1.choices[0]!.message.content);
  });
});

describe('the proxy through the semantic cache', () => {
  let api: TestApi;
  const client = (apiKey: string) => new OpenAI({ baseURL: `${api.base}/v1`, apiKey, maxRetries: 0 });
  const chats = () => api.model.requests.filter((r) => r.kind === 'chat').length;
  const ask = async (apiKey: string, content: string, system = 'You answer for Inkwell Printers.') => {
    const { data, response } = await client(apiKey)
      .chat.completions.create({ model: 'primary', temperature: 0, messages: [{ role: 'system', content: system }, { role: 'user', content }] })
      .withResponse();
    return { content: data.choices[0]!.message.content, cache: response.headers.get('x-gatehouse-cache') };
  };

  beforeAll(async () => {
    // The test embedder hashes words, so "reworded" here means a word more or less.
    api = await startTestApi({ GATEHOUSE_CACHE: 'semantic', GATEHOUSE_CACHE_SEMANTIC_MODE: 'on', GATEHOUSE_CACHE_SEMANTIC_THRESHOLD: '0.8' });
    api.model.onChat(() => ({ content: `reply ${uniqueId('r')}`, usage: { promptTokens: 50, completionTokens: 5 } }));
  });
  afterAll(() => api?.close());

  it('serves a reworded question under the same system prompt, never another tenant or system prompt', async () => {
    const topic = uniqueId('model');
    const first = await ask(api.keys.admin, `How do I clear a paper jam in the ${topic} printer?`);
    expect(first.cache).toBe('semantic=miss');
    const reworded = await ask(api.keys.admin, `How do I clear a paper jam in the ${topic} printer, please?`);
    expect(reworded.content).toBe(first.content);
    expect(reworded.cache).toMatch(/^semantic=hit; similarity=0\.\d{3}$/);
    expect(chats()).toBe(1);
    expect((await ask(api.keys.admin, `How do I clear a paper jam in the ${topic} printer?`, 'You answer for a rival brand.')).cache).toBe('semantic=miss');
    expect((await ask(api.keys.other, `How do I clear a paper jam in the ${topic} printer?`)).cache).toBe('semantic=miss');
    expect(chats()).toBe(3);
  });

  it('does not serve the answer to a near miss', async () => {
    const topic = uniqueId('cartridge');
    await ask(api.keys.admin, `Can I return an unused ${topic} cartridge?`);
    const used = await ask(api.keys.admin, `Can I return a used ${topic} cartridge?`);
    expect(used.cache).toBe('semantic=miss');
    const before = chats();
    // Streamed, a hit is replayed whole.
    const stream = await client(api.keys.admin).chat.completions.create({ model: 'primary', temperature: 0, stream: true, messages: [{ role: 'system', content: 'You answer for Inkwell Printers.' }, { role: 'user', content: `Can I return an unused ${topic} cartridge, please?` }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toMatch(/^reply /);
    expect(chats()).toBe(before);
  });
});

