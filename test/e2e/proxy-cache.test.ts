// The exact cache on the OpenAI-compatible proxy, with the real `openai` client: a repeated
// completion is served from the cache (no model call, no usage), never to another tenant, and a
// user-specific question is kept to the person whose key asked it.
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
