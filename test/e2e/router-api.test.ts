// The router over HTTP: the routing document (validated, versioned, per tenant), the dry run,
// the OpenAI-compatible proxy's `auto` and `route:<intent>` with the real `openai` client, and
// an answer task recording the route it took.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-harness.js';

const FREEZE_OR_WEATHER = 'Do you want to freeze your account, or are you talking about the weather?';

const document = {
  intents: [
    { name: 'freeze_account', clarifyAs: 'do you want to freeze your account', keywords: ['freeze', 'freezing'], examples: ['freeze my account'], route: { kind: 'model', model: 'primary' } },
    { name: 'weather', clarifyAs: 'are you talking about the weather', keywords: ['freezing', 'weather'], examples: ['will it snow'], route: { kind: 'stock', answer: 'No weather reports here.' } },
    { name: 'returns', keywords: ['refund'], examples: ['can I return my printer'], route: { kind: 'retrieval', collection: 'kb', model: 'primary', overflow: 'truncate' } },
  ],
};

describe('the router over HTTP', () => {
  let api: TestApi;
  let proxyKey: string;
  const client = () => new OpenAI({ baseURL: `${api.base}/v1`, apiKey: proxyKey, maxRetries: 0 });
  const chats = () => api.model.requests.filter((r) => r.kind === 'chat');

  beforeAll(async () => {
    api = await startTestApi();
    const r = await api.call('POST', '/v1/api-keys', { key: api.keys.admin, body: { roles: ['models:call', 'tasks:read', 'tasks:write'], backend: true } });
    proxyKey = (r.json as { key: string }).key;
  });
  afterAll(() => api?.close());

  it('refuses a document naming an unknown model or a bad intent, naming the field', async () => {
    const unknown = await api.call('PUT', '/v1/router/document', { key: api.keys.admin, body: { intents: [{ name: 'x', keywords: ['xx'], route: { kind: 'model', model: 'gpt-9' } }] } });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ error: { code: 'invalid_request' } });
    expect(JSON.stringify(unknown.json)).toContain('body.intents.0.route');
    const badName = await api.call('PUT', '/v1/router/document', { key: api.keys.admin, body: { intents: [{ name: 'Not A Name', keywords: ['xx'], route: { kind: 'stock', answer: 'hi' } }] } });
    expect(badName.status).toBe(400);
    expect(JSON.stringify(badName.json)).toContain('intents.0.name');
    const empty = await api.call('PUT', '/v1/router/document', { key: api.keys.admin, body: { intents: [{ name: 'x', route: { kind: 'stock', answer: 'hi' } }] } });
    expect(empty.status).toBe(400);
  });

  it('stores versions, serves the current one, and keeps them per tenant', async () => {
    const before = await api.call('GET', '/v1/router/document', { key: api.keys.admin });
    expect(before.json).toMatchObject({ version: 0 });
    const saved = await api.call('PUT', '/v1/router/document', { key: api.keys.admin, body: document });
    expect(saved.status).toBe(200);
    expect(saved.json).toMatchObject({ version: 1 });
    const other = await api.call('GET', '/v1/router/document', { key: api.keys.other });
    expect(other.json).toMatchObject({ version: 0, document: { intents: [] } });
  });

  it('shows which route a request would take, and why', async () => {
    const r = await api.call('POST', '/v1/router/classify', { key: api.keys.admin, body: { text: 'Freezing' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ decision: { stage: 'rules', intent: null, target: { kind: 'clarify', question: FREEZE_OR_WEATHER } } });
    const named = await api.call('POST', '/v1/router/classify', { key: api.keys.admin, body: { text: 'anything', route: 'nope' } });
    expect(named.status).toBe(400);
  });

  it('answers `auto` through the route: a clarifying question or a stock answer with no model call, a route to a model with it', async () => {
    const before = chats().length;
    const clarify = await client().chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Freezing' }] });
    expect(clarify.choices[0]!.message.content).toBe(FREEZE_OR_WEATHER);
    const stock = await client().chat.completions.create({ model: 'route:weather', messages: [{ role: 'user', content: 'Anything at all' }] });
    expect(stock.choices[0]!.message.content).toBe('No weather reports here.');
    expect(chats().length).toBe(before);

    api.model.enqueue({ content: 'Within 30 days, minus a fee.' });
    const { data, response } = await client().chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Can I get a refund?' }] }).withResponse();
    expect(data.choices[0]!.message.content).toBe('Within 30 days, minus a fee.');
    expect(data.model).toBe('primary');
    expect(response.headers.get('x-gatehouse-route')).toBe('returns');

    // Streaming, routed to a stock answer: one chunk of it, then [DONE].
    const stream = await client().chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'How is the weather?' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('No weather reports here.');
  });

  it('refuses a route the tenant does not have, as an OpenAI error naming `model`', async () => {
    const err = await client()
      .chat.completions.create({ model: 'route:nope', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe('model');
  });

  it('records the route an answer task took', async () => {
    const started = await api.call('POST', '/v1/tasks', { key: proxyKey, body: { type: 'answer', collection: 'kb', input: 'What is the weather like?' } });
    expect(started.status).toBe(202);
    const { taskId } = started.json as { taskId: string };
    const result = await api.call('GET', `/v1/tasks/${taskId}/result?wait=20`, { key: proxyKey });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ result: { answer: 'No weather reports here.', route: { intent: 'weather', target: { kind: 'stock' } } } });
  });
});
