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

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).api.port).toBe(8080);
  });
});
