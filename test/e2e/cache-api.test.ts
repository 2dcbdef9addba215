// The cache over HTTP: a tenant's entries listed and evicted (one, a layer, all), never another
// tenant's; the semantic layer's entries beside the exact ones; and a reviewer's correction of an
// answer evicting the entry it came from.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKeysOf } from '../../api/review-cache.js';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { indexDocuments } from '../support/corpus.js';
import { uniqueId } from '../support/harness.js';

describe('the cache API', () => {
  let api: TestApi;
  const client = (apiKey: string) => new OpenAI({ baseURL: `${api.base}/v1`, apiKey, maxRetries: 0 });
  const chats = () => api.model.requests.filter((r) => r.kind === 'chat').length;

  beforeAll(async () => {
    api = await startTestApi({ GATEHOUSE_CACHE: 'all' });
  });
  afterAll(() => api?.close());

  it("lists the tenant's entries and evicts one, a layer or all — never another tenant's", async () => {
    api.model.onChat(() => ({ content: `Open the rear door. ${uniqueId('r')}` }));
    const ask = { model: 'primary', temperature: 0, messages: [{ role: 'user' as const, content: `How do I clear a jam? ${uniqueId('q')}` }] };
    const first = await client(api.keys.admin).chat.completions.create(ask);
    const listed = await api.call('GET', '/v1/cache/entries?layer=model', { key: api.keys.admin });
    expect(listed.status).toBe(200);
    const entries = (listed.json as { entries: Array<{ key: string; layer: string; scope: string; preview: string }> }).entries;
    const mine = entries.find((e) => e.preview === first.choices[0]!.message.content)!;
    expect(mine).toMatchObject({ layer: 'model', scope: 'tenant' });
    expect(((await api.call('GET', '/v1/cache/entries', { key: api.keys.other })).json as { entries: unknown[] }).entries).toEqual([]);
    // Another tenant cannot evict it; its owner can, and the next call goes to the model again.
    expect((await api.call('DELETE', `/v1/cache/entries/model/${mine.key}`, { key: api.keys.other })).status).toBe(404);
    const before = chats();
    expect((await api.call('DELETE', `/v1/cache/entries/model/${mine.key}`, { key: api.keys.admin })).json).toEqual({ evicted: 1 });
    await client(api.keys.admin).chat.completions.create(ask);
    expect(chats()).toBe(before + 1);
    expect((await api.call('DELETE', '/v1/cache/entries/model/not-a-key', { key: api.keys.admin })).status).toBe(400);
    const all = await api.call('DELETE', '/v1/cache/entries', { key: api.keys.admin });
    expect((all.json as { evicted: number }).evicted).toBeGreaterThanOrEqual(1);
    expect(((await api.call('GET', '/v1/cache/entries', { key: api.keys.admin })).json as { entries: unknown[] }).entries).toEqual([]);
  });

  it("evicts the entry a reviewer's correction came from", async () => {
    const tenant = api.otherTenant;
    await indexDocuments(api.services, { tenantId: tenant, collection: 'kb', documents: [{ id: 'returns', text: '# Returns\n\nReturns within 30 days get a refund minus a 15% restocking fee.' }] });
    expect((await api.call('PUT', '/v1/guardrails/policy', { key: api.keys.other, body: { output: { brand: { competitors: ['Epson'], action: 'review' } } } })).status).toBe(200);
    api.model.onChat(() => ({ content: 'Unlike Epson, we charge a 15% restocking fee [1].' }));
    const question = `What is the restocking fee? ${uniqueId('q')}`;
    const started = await api.call('POST', '/v1/tasks', { key: api.keys.other, body: { type: 'answer', collection: 'kb', input: question } });
    const { taskId } = started.json as { taskId: string };
    let task = await api.call('GET', `/v1/tasks/${taskId}`, { key: api.keys.other });
    for (let i = 0; i < 100 && (task.json as { status: string }).status !== 'needs_review'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      task = await api.call('GET', `/v1/tasks/${taskId}`, { key: api.keys.other });
    }
    const keys = cacheKeysOf((task.json as { steps: Parameters<typeof cacheKeysOf>[0] }).steps);
    expect(keys).toHaveLength(1);
    const listed = () => api.call('GET', '/v1/cache/entries?layer=model', { key: api.keys.other }).then((r) => (r.json as { entries: Array<{ key: string }> }).entries.map((e) => e.key));
    expect(await listed()).toContain(keys[0]);
    const reviewed = await api.call('POST', `/v1/tasks/${taskId}/review`, { key: api.keys.other, body: { decision: 'edit', answer: 'A 15% restocking fee applies [1].' } });
    expect(reviewed.status).toBe(200);
    expect(await listed()).not.toContain(keys[0]);
  });

  it("lists and evicts the semantic layer's entries, never another tenant's", async () => {
    await indexDocuments(api.services, { tenantId: api.tenant, collection: 'kb', documents: [{ id: 'returns', text: '# Returns\n\nReturns within 30 days get a refund minus a 15% restocking fee.' }] });
    api.model.onChat(() => ({ content: 'A 15% restocking fee [1].' }));
    const question = `How much is the restocking fee on model ${uniqueId('m')}?`;
    const answer = async () => {
      const started = await api.call('POST', '/v1/tasks', { key: api.keys.admin, body: { type: 'answer', collection: 'kb', input: question } });
      const { taskId } = started.json as { taskId: string };
      let task = await api.call('GET', `/v1/tasks/${taskId}`, { key: api.keys.admin });
      for (let i = 0; i < 100 && (task.json as { status: string }).status !== 'completed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        task = await api.call('GET', `/v1/tasks/${taskId}`, { key: api.keys.admin });
      }
      return (task.json as { steps: Array<{ name: string; detail?: { outcome?: string } }> }).steps.find((s) => s.name === 'semantic_cache')?.detail?.outcome;
    };
    expect(await answer()).toBe('miss');
    expect(await answer()).toBe('hit');
    const listed = await api.call('GET', '/v1/cache/entries?layer=semantic', { key: api.keys.admin });
    const entry = (listed.json as { entries: Array<{ key: string; layer: string; query: string; route: string }> }).entries.find((e) => e.query === question)!;
    expect(entry).toMatchObject({ layer: 'semantic', route: 'default', key: expect.stringMatching(/^\d+$/) });
    expect(((await api.call('GET', '/v1/cache/entries?layer=semantic', { key: api.keys.other })).json as { entries: Array<{ query: string }> }).entries.map((e) => e.query)).not.toContain(question);
    expect((await api.call('DELETE', `/v1/cache/entries/semantic/${entry.key}`, { key: api.keys.other })).status).toBe(404);
    expect((await api.call('DELETE', `/v1/cache/entries/semantic/${entry.key}`, { key: api.keys.admin })).json).toEqual({ evicted: 1 });
    expect(await answer()).toBe('miss');
  });
});
