import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  RateLimitError,
} from 'openai';
import { zodFunction } from 'openai/helpers/zod';
import type { ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_LOGPROB, startScriptedModelServer } from '../support/scripted-model-server.js';
import type { ScriptedModelServer } from '../support/scripted-model-server.js';

const MODEL = 'scripted-chat';
const EMBEDDING_MODEL = 'scripted-embedding';

let server: ScriptedModelServer;

beforeAll(async () => {
  server = await startScriptedModelServer();
});

afterEach(() => {
  expect(server.pendingSteps, 'every scripted step should have been consumed').toBe(0);
  server.reset();
});

afterAll(async () => {
  await server.close();
});

/** Retries are off by default so that each scripted fault reaches the test unchanged. */
function client(options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): OpenAI {
  return new OpenAI({ baseURL: server.baseUrl, apiKey: 'test-key', maxRetries: 0, ...options });
}

function ask(text: string) {
  return client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: text }] });
}

/** Resolves with whatever the promise rejects with, failing the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.unreachable(`expected a rejection, got ${JSON.stringify(value)}`),
    (err: unknown) => err,
  );
}

function functionCall(call: ChatCompletionMessageToolCall | undefined) {
  if (call?.type !== 'function') throw new Error(`expected a function tool call, got ${JSON.stringify(call)}`);
  return call;
}

function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);
}

function norm(v: number[]): number {
  return Math.sqrt(cosine(v, v));
}

describe('chat completions', () => {
  it('answers with a deterministic default echoing the last user message, with estimated usage', async () => {
    const completion = await client().chat.completions.create({
      model: 'my-model',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
    });

    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('my-model');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'scripted reply to: Hello there' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    // Prompt: "Be brief.\nHello there" = 21 chars -> 6; completion: 30 chars -> 8.
    expect(completion.usage).toEqual({ prompt_tokens: 6, completion_tokens: 8, total_tokens: 14 });
  });

  it('returns scripted content, usage, finish reason and model, then records the request', async () => {
    server.enqueue({ content: 'Paris.', usage: { promptTokens: 100, completionTokens: 2 }, finishReason: 'length', model: 'other-model' });

    const completion = await ask('Capital of France?');

    expect(completion.choices[0]?.message.content).toBe('Paris.');
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.model).toBe('other-model');
    expect(completion.usage).toEqual({ prompt_tokens: 100, completion_tokens: 2, total_tokens: 102 });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', kind: 'chat', model: MODEL });
    expect(server.requests[0]?.body).toMatchObject({ messages: [{ role: 'user', content: 'Capital of France?' }] });
    expect(server.requests[0]?.headers.authorization).toBe('Bearer test-key');
  });

  it('serves queued steps in FIFO order before falling back to the default', async () => {
    server.enqueue({ content: 'one' }, { content: 'two' });

    expect((await ask('a')).choices[0]?.message.content).toBe('one');
    expect((await ask('b')).choices[0]?.message.content).toBe('two');
    expect((await ask('c')).choices[0]?.message.content).toBe('scripted reply to: c');
  });

  it('uses the onChat responder when nothing is queued, and reset() removes it', async () => {
    server.onChat((req) => ({ content: `responder saw ${req.messages.length} message(s)` }));
    expect((await ask('hi')).choices[0]?.message.content).toBe('responder saw 1 message(s)');

    server.reset();
    expect(server.requests).toHaveLength(0);
    expect((await ask('hi')).choices[0]?.message.content).toBe('scripted reply to: hi');
  });

  it('streams deltas and a final usage chunk when include_usage is set', async () => {
    server.enqueue({ content: 'The quick brown fox', usage: { promptTokens: 5, completionTokens: 4 } });

    const stream = await client().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'go' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    const finishReasons: string[] = [];
    const usages: unknown[] = [];
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      for (const choice of chunk.choices) {
        if (choice.delta.content) deltas.push(choice.delta.content);
        if (choice.finish_reason) finishReasons.push(choice.finish_reason);
      }
      if (chunk.usage) usages.push({ choices: chunk.choices.length, usage: chunk.usage });
    }

    expect(deltas).toEqual(['The', ' quick', ' brown', ' fox']);
    expect(finishReasons).toEqual(['stop']);
    expect(usages).toEqual([{ choices: 0, usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } }]);
  });

  it('streams without a usage chunk when include_usage is not requested', async () => {
    server.enqueue({ content: 'a b' });
    const stream = await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.map((c) => c.choices[0]?.delta.content ?? null)).toEqual(['', 'a', ' b', null]);
    expect(chunks.every((c) => c.usage === undefined)).toBe(true);
  });

  it('returns tool calls with finish_reason tool_calls, passing raw argument strings through verbatim', async () => {
    server.enqueue({
      toolCalls: [
        { id: 'call_weather', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
        { name: 'broken', arguments: '{"city": "Par' },
      ],
    });

    const completion = await client().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
    });

    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    const [weather, broken] = (choice?.message.tool_calls ?? []).map(functionCall);
    expect(weather?.id).toBe('call_weather');
    expect(weather?.function.name).toBe('get_weather');
    expect(JSON.parse(weather?.function.arguments ?? '')).toEqual({ city: 'Paris', unit: 'celsius' });
    expect(broken?.id).toMatch(/^call_/);
    expect(broken?.function.arguments).toBe('{"city": "Par');
    expect(server.requests[0]?.body).toMatchObject({ tools: [{ function: { name: 'get_weather' } }] });
  });

  it('streams tool calls as deltas that the client helper reassembles and parses', async () => {
    server.enqueue({
      content: 'Checking.',
      toolCalls: [
        { id: 'call_a', name: 'get_weather', arguments: { city: 'Paris', days: 3 } },
        { id: 'call_b', name: 'get_weather', arguments: { city: 'Oslo', days: 1 } },
      ],
    });
    const getWeather = zodFunction({ name: 'get_weather', parameters: z.object({ city: z.string(), days: z.number() }) });

    const stream = client().chat.completions.stream({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [getWeather],
    });
    let argumentDeltas = 0;
    stream.on('chunk', (chunk) => {
      argumentDeltas += chunk.choices[0]?.delta.tool_calls?.filter((t) => t.function?.arguments).length ?? 0;
    });
    const final = await stream.finalChatCompletion();

    const message = final.choices[0]?.message;
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(message?.content).toBe('Checking.');
    expect(message?.tool_calls?.map((t) => [t.id, t.function.name, t.function.parsed_arguments])).toEqual([
      ['call_a', 'get_weather', { city: 'Paris', days: 3 }],
      ['call_b', 'get_weather', { city: 'Oslo', days: 1 }],
    ]);
    // Arguments arrive in several fragments, as OpenAI streams them, not in one piece.
    expect(argumentDeltas).toBeGreaterThan(4);
  });

  it('returns n choices from scripted contents, with per-choice logprobs when requested', async () => {
    server.enqueue({ contents: [{ content: 'first answer', logprobs: [-0.1, -0.3] }, { content: 'second', logprobs: -2 }] });

    const completion = await client().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'pick' }],
      n: 2,
      logprobs: true,
      top_logprobs: 1,
    });

    expect(completion.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, 'first answer'],
      [1, 'second'],
    ]);
    const first = completion.choices[0]?.logprobs?.content ?? [];
    expect(first.map((t) => [t.token, t.logprob])).toEqual([
      ['first', -0.1],
      [' answer', -0.3],
    ]);
    expect(first[0]?.top_logprobs).toEqual([{ token: 'first', logprob: -0.1, bytes: [...Buffer.from('first')] }]);
    expect(completion.choices[1]?.logprobs?.content?.map((t) => t.logprob)).toEqual([-2]);
    // Completion usage counts every choice: 12 + 6 chars -> 5 tokens.
    expect(completion.usage?.completion_tokens).toBe(5);
  });

  it('omits logprobs unless asked, and uses a constant default when asked but not scripted', async () => {
    server.enqueue({ content: 'x y', logprobs: -1 }, { content: 'x y z' });

    const unasked = await ask('a');
    const asked = await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'b' }], logprobs: true });

    expect(unasked.choices[0]?.logprobs).toBeNull();
    expect(asked.choices[0]?.logprobs?.content?.map((t) => t.logprob)).toEqual([DEFAULT_LOGPROB, DEFAULT_LOGPROB, DEFAULT_LOGPROB]);
  });

  it('streams logprobs alongside content deltas', async () => {
    server.enqueue({ content: 'a b c', logprobs: [-1, -2] });
    const stream = await client().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      logprobs: true,
    });
    const logprobs: number[] = [];
    for await (const chunk of stream) {
      for (const t of chunk.choices[0]?.logprobs?.content ?? []) logprobs.push(t.logprob);
    }
    // Missing per-token values repeat the last one.
    expect(logprobs).toEqual([-1, -2, -2]);
  });

  it('returns scripted content in JSON mode and keeps the default reply parseable', async () => {
    server.enqueue({ content: '{"answer": 42}' });
    const scripted = await client().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'json please' }],
      response_format: { type: 'json_object' },
    });
    const fallback = await client().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'json please' }],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
    });

    expect(JSON.parse(scripted.choices[0]?.message.content ?? '')).toEqual({ answer: 42 });
    expect(JSON.parse(fallback.choices[0]?.message.content ?? '')).toEqual({ reply: 'scripted reply to: json please' });
  });

  it('waits delayMs before answering', async () => {
    server.enqueue({ content: 'late', delayMs: 150 });
    const started = Date.now();
    const completion = await ask('x');
    expect(completion.choices[0]?.message.content).toBe('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('embeddings', () => {
  async function embed(input: string | string[], extra: { dimensions?: number; encoding_format?: 'float' } = {}) {
    return client().embeddings.create({ model: EMBEDDING_MODEL, input, ...extra });
  }

  it('returns one normalised vector of the default dimension per input, with usage', async () => {
    const response = await embed(['alpha beta', 'gamma']);

    expect(response.model).toBe(EMBEDDING_MODEL);
    expect(response.data.map((d) => [d.index, d.embedding.length])).toEqual([
      [0, 384],
      [1, 384],
    ]);
    for (const d of response.data) expect(norm(d.embedding)).toBeCloseTo(1, 5);
    // 10 chars -> 3 tokens, 5 chars -> 2 tokens.
    expect(response.usage).toEqual({ prompt_tokens: 5, total_tokens: 5 });
    // The client asked for base64 by default and decoded it: the server must have honoured that.
    expect(server.requests[0]?.body).toMatchObject({ encoding_format: 'base64' });
  });

  it('is deterministic across calls and encodings', async () => {
    const [a, b, c] = await Promise.all([
      embed('The invoice is overdue'),
      embed('The invoice is overdue'),
      embed('The invoice is overdue', { encoding_format: 'float' }),
    ]);
    const base = a.data[0]?.embedding ?? [];
    expect(base.some((x) => x !== 0)).toBe(true);
    expect(b.data[0]?.embedding).toEqual(base);
    // The float path is not rounded to float32, so compare closely rather than exactly.
    (c.data[0]?.embedding ?? []).forEach((x, i) => expect(x).toBeCloseTo(base[i] ?? NaN, 6));
  });

  it('puts a paraphrase sharing words closer than an unrelated text', async () => {
    const response = await embed([
      'The customer invoice is overdue by thirty days',
      'This customer has an overdue invoice, thirty days late',
      'Penguins huddle together to survive the Antarctic winter',
    ]);
    const [text, paraphrase, unrelated] = response.data.map((d) => d.embedding);

    const similar = cosine(text ?? [], paraphrase ?? []);
    const dissimilar = cosine(text ?? [], unrelated ?? []);
    expect(similar).toBeGreaterThan(0.5);
    expect(dissimilar).toBeLessThan(0.3);
    expect(similar - dissimilar).toBeGreaterThan(0.3);
  });

  it('honours the dimensions request field', async () => {
    const response = await embed('short text', { dimensions: 64 });
    const vector = response.data[0]?.embedding ?? [];
    expect(vector).toHaveLength(64);
    expect(norm(vector)).toBeCloseTo(1, 5);
  });

  it('can be overridden with a function', async () => {
    server.onEmbeddings((texts, dims) => texts.map((t) => [t.length, dims]));
    const response = await embed(['abc', 'hello'], { encoding_format: 'float' });
    expect(response.data.map((d) => d.embedding)).toEqual([
      [3, 384],
      [5, 384],
    ]);
  });

  it('rejects an invalid dimensions value with a 400', async () => {
    const err = await rejection(embed('x', { dimensions: -3 }));
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain('dimensions');
  });
});

describe('models', () => {
  it('lists the configured models', async () => {
    const custom = await startScriptedModelServer({ models: ['m-small', 'm-large'] });
    try {
      const openai = new OpenAI({ baseURL: custom.baseUrl, apiKey: 'k' });
      const ids = [];
      for await (const model of openai.models.list()) ids.push(model.id);
      expect(ids).toEqual(['m-small', 'm-large']);
      expect((await openai.models.retrieve('m-large')).id).toBe('m-large');
    } finally {
      await custom.close();
    }
  });
});

describe('fault injection', () => {
  it('returns a 429 with retry-after that the client maps to RateLimitError', async () => {
    server.enqueue({ error: { status: 429, message: 'Slow down', retryAfterSeconds: 7 } });

    const err = await rejection(ask('x'));

    expect(err).toBeInstanceOf(RateLimitError);
    const rateLimit = err as RateLimitError;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.headers.get('retry-after')).toBe('7');
    expect(rateLimit.error).toEqual({ message: 'Slow down', type: 'requests', param: null, code: 'rate_limit_exceeded' });
  });

  it('lets the client retry after a 429 when retries are enabled', async () => {
    server.enqueue({ error: { status: 429, retryAfterSeconds: 0.01 } }, { content: 'after retry' });

    const completion = await client({ maxRetries: 1 }).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
    });

    expect(completion.choices[0]?.message.content).toBe('after retry');
    expect(server.requests).toHaveLength(2);
  });

  it('returns a 500 that the client maps to InternalServerError', async () => {
    server.enqueue({ error: { status: 500, message: 'boom', code: 'engine_down' } });

    const err = await rejection(ask('x'));

    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).status).toBe(500);
    expect((err as InternalServerError).code).toBe('engine_down');
    expect((err as InternalServerError).type).toBe('server_error');
  });

  it('hangs long enough to trigger the client timeout', async () => {
    server.enqueue({ hangMs: 10_000 });
    const started = Date.now();

    const err = await rejection(client({ timeout: 150 }).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));

    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - started).toBeLessThan(2_000);
    // The abandoned hang must not leak into later requests.
    expect((await ask('next')).choices[0]?.message.content).toBe('scripted reply to: next');
  });

  it('answers normally after a hang shorter than the timeout', async () => {
    server.onChat(() => ({ content: 'after the hang' }));
    server.enqueue({ hangMs: 100 });
    const completion = await ask('x');
    expect(completion.choices[0]?.message.content).toBe('after the hang');
  });

  it('surfaces an invalid JSON body as a parse error', async () => {
    server.enqueue({ malformed: 'invalid-json' });
    const err = await rejection(ask('x'));
    expect(err).toBeInstanceOf(SyntaxError);
  });

  it('surfaces an unparsable SSE frame as a parse error', async () => {
    server.enqueue({ malformed: 'invalid-json' });
    const consume = async () => {
      // logLevel off: the client logs the unparsable frame before throwing, which is noise here.
      const quiet = client({ logLevel: 'off' });
      const stream = await quiet.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: true });
      for await (const _chunk of stream) {
        // drain
      }
    };
    const err = await rejection(consume());
    expect(err).toBeInstanceOf(SyntaxError);
  });

  it('returns a 200 body without choices', async () => {
    server.enqueue({ malformed: 'missing-choices' });
    const completion = await ask('x');
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices).toBeUndefined();
  });

  it('closes the socket abruptly, which the client reports as a connection error', async () => {
    server.enqueue({ malformed: 'close-socket' });
    const err = await rejection(ask('x'));
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).not.toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('closes the socket mid-stream after the first chunk', async () => {
    server.enqueue({ malformed: 'close-socket' });
    const seen: string[] = [];
    const consume = async () => {
      const stream = await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: true });
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.role ?? '');
    };
    const err = await rejection(consume());
    expect(err).toBeInstanceOf(Error);
    expect(seen).toEqual(['assistant']);
  });

  it('turns a throwing responder into a 500 naming the failure', async () => {
    server.onChat(() => {
      throw new Error('responder bug');
    });
    const err = await rejection(ask('x'));
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).message).toContain('responder bug');
  });
});

describe('lifecycle', () => {
  it('close() does not wait for a request stuck in a hang', async () => {
    const own = await startScriptedModelServer();
    own.enqueue({ hangMs: 30_000 });
    const openai = new OpenAI({ baseURL: own.baseUrl, apiKey: 'k', maxRetries: 0 });
    const pending = rejection(openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));
    await expect.poll(() => own.requests.length).toBe(1);

    const started = Date.now();
    await own.close();

    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(APIConnectionError);
  });
});

describe('step matching', () => {
  it('routes steps by model, leaving non-matching steps queued', async () => {
    server.enqueue({ content: 'for model b', match: { model: 'model-b' } }, { content: 'for anyone' });

    const a = await client().chat.completions.create({ model: 'model-a', messages: [{ role: 'user', content: 'x' }] });
    expect(server.pendingSteps).toBe(1);
    const b = await client().chat.completions.create({ model: 'model-b', messages: [{ role: 'user', content: 'x' }] });

    expect(a.choices[0]?.message.content).toBe('for anyone');
    expect(b.choices[0]?.message.content).toBe('for model b');
  });

  it('routes faults by path, and never hands chat replies to embeddings', async () => {
    server.enqueue({ content: 'chat only' }, { error: { status: 503, message: 'embeddings down' }, match: { path: 'embeddings' } });

    const err = await rejection(client().embeddings.create({ model: EMBEDDING_MODEL, input: 'x' }));
    const chat = await ask('x');

    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).status).toBe(503);
    expect((err as InternalServerError).message).toContain('embeddings down');
    expect(chat.choices[0]?.message.content).toBe('chat only');
  });

  it('refuses a chat reply restricted to the embeddings path', () => {
    expect(() => server.enqueue({ content: 'x', match: { path: 'embeddings' } })).toThrow(/embeddings/);
  });
});

describe('API key', () => {
  it('rejects a wrong bearer token with 401 and accepts the right one', async () => {
    const secured = await startScriptedModelServer({ apiKey: 'sk-right' });
    try {
      const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'x' }] };
      const wrong = new OpenAI({ baseURL: secured.baseUrl, apiKey: 'sk-wrong', maxRetries: 0 });
      const right = new OpenAI({ baseURL: secured.baseUrl, apiKey: 'sk-right', maxRetries: 0 });

      const err = await rejection(wrong.chat.completions.create(request));
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as AuthenticationError).status).toBe(401);
      expect((err as AuthenticationError).code).toBe('invalid_api_key');

      const ok = await right.chat.completions.create(request);
      expect(ok.choices[0]?.message.content).toBe('scripted reply to: x');
      expect(secured.requests).toHaveLength(2);
    } finally {
      await secured.close();
    }
  });
});
