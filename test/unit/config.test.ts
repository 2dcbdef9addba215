import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../infra/config.js';

describe('loadConfig', () => {
  it('defaults to the embedded, offline mode', () => {
    const c = loadConfig({});
    expect(c.api.port).toBe(8080);
    expect(c.dataDir).toMatch(/\.data$/);
    expect(c.database.url).toBeUndefined();
    expect(c.temporal.address).toBeUndefined();
    expect(c.temporal.uiPort).toBe(8233);
    expect(c.models.chain).toEqual(['local']);
    expect(c.embedding).toMatchObject({ provider: 'local', dimensions: 384, model: 'all-MiniLM-L6-v2' });
    // The exact caches serve; the semantic one only measures until an operator turns it on.
    expect(c.cache?.layers).toEqual({ model: true, retrieval: true, tool: true, semantic: 'shadow' });
  });

  it('turns cache layers on by name', () => {
    expect(loadConfig({ GATEHOUSE_CACHE: 'off' }).cache).toBeUndefined();
    expect(loadConfig({ GATEHOUSE_CACHE: 'retrieval, semantic', GATEHOUSE_CACHE_SEMANTIC_MODE: 'on' }).cache?.layers).toEqual({ model: false, retrieval: true, tool: false, semantic: 'on' });
    expect(loadConfig({ GATEHOUSE_CACHE: 'all' }).cache?.layers).toEqual({ model: true, retrieval: true, tool: true, semantic: 'shadow' });
    expect(() => loadConfig({ GATEHOUSE_CACHE: 'model,semantik' })).toThrow(/GATEHOUSE_CACHE: unknown cache layer "semantik"/);
  });

  it('names the variable and what it expects in one line', () => {
    const attempt = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(attempt({ PORT: 'eighty' })).toMatch(/^PORT: expected a port number \(got "eighty"\)$/);
    expect(attempt({ TEMPORAL_ADDRESS: 'localhost' })).toMatch(/^TEMPORAL_ADDRESS: expected host:port/);
    expect(attempt({ DATABASE_URL: 'mysql://x' })).toMatch(/^DATABASE_URL: expected a postgres:\/\/ URL/);
    expect(attempt({ OPENAI_BASE_URL: 'not a url' })).toMatch(/^OPENAI_BASE_URL: expected a URL/);
    expect(attempt({ GATEHOUSE_API_KEY: 'short' })).toMatch(/^GATEHOUSE_API_KEY: expected at least 24 characters \(got "\*\*\*"\)$/);
    expect(attempt({ GATEHOUSE_CHAT_MODEL: 'gpt-9' })).toMatch(/^GATEHOUSE_CHAT_MODEL: model "gpt-9" is not in the registry/);
    expect(attempt({ GATEHOUSE_MODELS: '{oops' })).toMatch(/^GATEHOUSE_MODELS: expected a JSON array/);
    expect(attempt({ CHUNK_MAX_TOKENS: '100', CHUNK_OVERLAP_TOKENS: '100' })).toMatch(/^CHUNK_OVERLAP_TOKENS/);
    expect(attempt({ EMBEDDING_PROVIDER: 'openai' })).toMatch(/^EMBEDDING_BASE_URL/);
  });

  it('never echoes credentials', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://user:hunter2@db:5432/x', PGLITE_PORT: '-1' })).toThrow(/PGLITE_PORT/);
    try {
      loadConfig({ DATABASE_URL: 'postgresql://user:hunter2@db:99999999/x', TEMPORAL_ADDRESS: 'bad' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('builds a model registry and fallback chain', () => {
    const c = loadConfig({
      OPENAI_BASE_URL: 'http://models.internal/v1',
      OPENAI_API_KEY: 'sk-test',
      GATEHOUSE_CHAT_MODEL: 'big',
      GATEHOUSE_MODELS: JSON.stringify([
        { name: 'big', contextWindow: 200000, inputPricePerMTok: 3, outputPricePerMTok: 15 },
        { name: 'small', baseUrl: 'http://other/v1', apiKeyEnv: 'SMALL_KEY', providerModel: 'small-2024' },
      ]),
      SMALL_KEY: 'sk-small',
      GATEHOUSE_MODEL_FALLBACKS: 'small, local',
    });
    expect(c.models.chain).toEqual(['big', 'small', 'local']);
    const big = c.models.registry.find((m) => m.name === 'big')!;
    expect(big).toMatchObject({ baseUrl: 'http://models.internal/v1', apiKey: 'sk-test', contextWindow: 200000, outputPricePerMTok: 15 });
    expect(c.models.registry.find((m) => m.name === 'small')).toMatchObject({ apiKey: 'sk-small', providerModel: 'small-2024' });
  });

  it('registers Anthropic and Gemini models with their endpoints, keys, capabilities and cache prices', () => {
    const c = loadConfig({
      ANTHROPIC_API_KEY: 'sk-ant',
      GEMINI_BASE_URL: 'http://gemini.internal',
      GEMINI_API_KEY: 'g-key',
      GATEHOUSE_CHAT_MODEL: 'claude',
      GATEHOUSE_MODELS: JSON.stringify([
        { name: 'claude', provider: 'anthropic', providerModel: 'claude-sonnet-4-5', inputPricePerMTok: 3, outputPricePerMTok: 15, cachedInputPricePerMTok: 0.3, cacheWritePricePerMTok: 3.75 },
        { name: 'flash', provider: 'gemini', inputPricePerMTok: 0.3, capabilities: { streaming: false } },
      ]),
    });
    // No ANTHROPIC_BASE_URL: the SDK's own endpoint.
    expect(c.models.registry.find((m) => m.name === 'claude')).toMatchObject({
      provider: 'anthropic',
      baseUrl: undefined,
      apiKey: 'sk-ant',
      cachedInputPricePerMTok: 0.3,
      cacheWritePricePerMTok: 3.75,
      capabilities: { tools: true, json: true, streaming: true },
    });
    // Unset cache prices are the input price: never cheaper than configured.
    expect(c.models.registry.find((m) => m.name === 'flash')).toMatchObject({
      provider: 'gemini',
      baseUrl: 'http://gemini.internal',
      apiKey: 'g-key',
      cachedInputPricePerMTok: 0.3,
      cacheWritePricePerMTok: 0.3,
      capabilities: { tools: true, json: true, streaming: false },
    });
    expect(() => loadConfig({ GATEHOUSE_MODELS: JSON.stringify([{ name: 'x', provider: 'cohere' }]) })).toThrow(/GATEHOUSE_MODELS: \[0\.provider\]/);
    expect(() => loadConfig({ GATEHOUSE_MODELS: JSON.stringify([{ name: 'x' }]) })).toThrow(/needs a baseUrl \(or set OPENAI_BASE_URL\)/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).api.port).toBe(8080);
  });

  it('parses payload encryption keys (first current) and never prints them', () => {
    const a = Buffer.alloc(32, 0xa1).toString('base64');
    const b = Buffer.alloc(32, 0xb2).toString('base64');
    const c = loadConfig({ PAYLOAD_ENCRYPTION_KEYS: ` k2:${a}, k1.old:${b} ` });
    expect(c.temporal.payloadKeys?.currentKeyId).toBe('k2');
    expect([...c.temporal.payloadKeys!.keys.keys()]).toEqual(['k2', 'k1.old']);
    expect(c.temporal.payloadKeys!.keys.get('k1.old')!.equals(Buffer.alloc(32, 0xb2))).toBe(true);
    // Embedded and nothing set: a generated key, kept in the data dir (infra/payload-keys.ts).
    expect(loadConfig({}).temporal.payloadKeys).toBeUndefined();

    const short = Buffer.alloc(16, 0xc3).toString('base64');
    const attempt = (value: string, extra: Record<string, string> = {}) => {
      try {
        loadConfig({ PAYLOAD_ENCRYPTION_KEYS: value, ...extra });
      } catch (err) {
        const message = (err as Error).message;
        for (const secret of [a, b, short]) expect(message).not.toContain(secret);
        return message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(attempt(`k1:${short}`)).toBe('PAYLOAD_ENCRYPTION_KEYS: key "k1": expected 32 bytes in base64 (AES-256), got 16');
    expect(attempt(`k1:${a}!`)).toMatch(/^PAYLOAD_ENCRYPTION_KEYS: key "k1": expected 32 bytes in base64/);
    expect(attempt(`k 1:${a}`)).toMatch(/^PAYLOAD_ENCRYPTION_KEYS: entry 1: expected keyId:base64 with a key id of letters/);
    expect(attempt(a)).toMatch(/^PAYLOAD_ENCRYPTION_KEYS: entry 1:/);
    expect(attempt(`k1:${a},k1:${b}`)).toBe('PAYLOAD_ENCRYPTION_KEYS: key id "k1" appears twice');
    expect(attempt(',')).toMatch(/at least one/);
  });

  it('requires payload keys with an external Temporal cluster', () => {
    expect(() => loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' })).toThrow(/^PAYLOAD_ENCRYPTION_KEYS: required with TEMPORAL_ADDRESS/);
    const key = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233', PAYLOAD_ENCRYPTION_KEYS: key }).temporal.payloadKeys?.currentKeyId).toBe('k1');
  });

  it('allows the Temporal UI origins to call the codec endpoint', () => {
    expect(loadConfig({ TEMPORAL_UI_PORT: '9233' }).temporal.uiOrigins).toEqual(['http://localhost:9233', 'http://127.0.0.1:9233']);
    const key = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233', PAYLOAD_ENCRYPTION_KEYS: key }).temporal.uiOrigins).toEqual([]);
    expect(loadConfig({ TEMPORAL_UI_ORIGIN: 'https://temporal.example.com/, https://ui.example.com:8443' }).temporal.uiOrigins).toEqual([
      'https://temporal.example.com',
      'https://ui.example.com:8443',
    ]);
    expect(() => loadConfig({ TEMPORAL_UI_ORIGIN: 'temporal.example.com' })).toThrow(/^TEMPORAL_UI_ORIGIN: expected origins/);
  });
});
