// The effective-configuration line: every secret of a fully configured deployment is gone from
// it, and everything an operator reads it for (ports, models, cache layers, hosts) is still there.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config.js';
import { createLogger } from '../../infra/logger.js';
import { REDACTED, redactedConfig, redactSecrets } from '../../infra/redacted-config.js';

const payloadKey = Buffer.from('distinctive-payload-key-32-bytes');
const secrets = {
  devApiKey: 'gh_dev_DISTINCTIVE_dev_api_key_0001',
  openai: 'sk-DISTINCTIVE-openai-key-0002',
  anthropic: 'sk-ant-DISTINCTIVE-anthropic-0003',
  gemini: 'DISTINCTIVE-gemini-key-0004',
  model: 'sk-DISTINCTIVE-model-registry-0005',
  deployment: 'sk-DISTINCTIVE-deployment-0006',
  dbPassword: 'DISTINCTIVEpgPassw0rd0007',
  smtpPassword: 'DISTINCTIVEsmtpPass0008',
  webSearchToken: 'DISTINCTIVEsearchToken0009',
};

const env = {
  PORT: '18080',
  GATEHOUSE_API_KEY: secrets.devApiKey,
  DATABASE_URL: `postgres://gatehouse:${secrets.dbPassword}@db.internal:5432/gatehouse`,
  TEMPORAL_ADDRESS: 'temporal.internal:7233',
  PAYLOAD_ENCRYPTION_KEYS: `k-2026:${payloadKey.toString('base64')}`,
  OPENAI_BASE_URL: 'http://models.internal/v1',
  OPENAI_API_KEY: secrets.openai,
  ANTHROPIC_API_KEY: secrets.anthropic,
  GEMINI_API_KEY: secrets.gemini,
  MODEL_KEY: secrets.model,
  DEPLOYMENT_KEY: secrets.deployment,
  GATEHOUSE_MODELS: JSON.stringify([
    { name: 'claude-big', provider: 'anthropic', apiKeyEnv: 'MODEL_KEY' },
    { name: 'balanced', baseUrl: 'http://a.internal/v1', deployments: [{ id: 'east', apiKeyEnv: 'DEPLOYMENT_KEY' }, { id: 'west', baseUrl: 'http://b.internal/v1' }] },
  ]),
  GATEHOUSE_CHAT_MODEL: 'gpt-4o-mini',
  GATEHOUSE_MODEL_FALLBACKS: 'claude-big,balanced',
  GATEHOUSE_CACHE: 'model,retrieval',
  EMBEDDING_PROVIDER: 'hashing',
  SMTP_URL: `smtp://mailer:${secrets.smtpPassword}@mail.internal:587`,
  WEB_SEARCH_URL: `https://search.internal/search?format=json&api_key=${secrets.webSearchToken}`,
  OIDC_ISSUER: 'https://id.internal',
  OIDC_AUDIENCE: 'gatehouse',
  OIDC_JWKS_URL: 'https://id.internal/jwks',
};

describe('redactedConfig', () => {
  const config = loadConfig(env);
  const text = JSON.stringify(redactedConfig(config));

  it('leaves no secret of a fully configured deployment in the text', () => {
    for (const [name, secret] of Object.entries(secrets)) expect(text, name).not.toContain(secret);
    for (const form of [payloadKey.toString('base64'), payloadKey.toString('hex'), payloadKey.toString('utf8')]) expect(text).not.toContain(form);
    // Each secret was really in the config: the test would pass vacuously otherwise.
    expect(JSON.stringify(config)).toContain(secrets.model);
    expect(JSON.stringify(config)).toContain(secrets.dbPassword);
  });

  it('keeps what an operator reads it for: ports, hosts, models, cache layers, key ids', () => {
    const shown = JSON.parse(text) as ReturnType<typeof loadConfig>;
    expect(shown.api.port).toBe(18080);
    expect(shown.api.devApiKey).toBe(REDACTED);
    expect(shown.models.chain).toEqual(['gpt-4o-mini', 'claude-big', 'balanced']);
    expect(shown.models.registry.map((m) => m.name)).toEqual(['local', 'gpt-4o-mini', 'claude-big', 'balanced']);
    expect(shown.models.registry.find((m) => m.name === 'balanced')!.deployments.map((d) => [d.id, d.baseUrl])).toEqual([
      ['east', 'http://a.internal/v1'],
      ['west', 'http://b.internal/v1'],
    ]);
    expect(shown.cache?.layers).toEqual({ model: true, retrieval: true, tool: false, semantic: 'off' });
    expect(shown.database.url).toBe(`postgres://${REDACTED}@db.internal:5432/gatehouse`);
    expect(shown.agents.smtp?.url).toBe(`smtp://${REDACTED}@mail.internal:587`);
    expect(shown.agents.webSearchUrl).toBe(`https://search.internal/search?format=json&api_key=${REDACTED}`);
    expect(shown.temporal.payloadKeys).toEqual({ currentKeyId: 'k-2026', keys: { 'k-2026': REDACTED } });
    expect(shown.agents.budgets.maxTokens).toBe(200_000);
    expect(shown.api.oidc).toEqual({ issuer: 'https://id.internal', audience: 'gatehouse', jwksUrl: 'https://id.internal/jwks' });
  });

  it('covers a secret nobody listed: by name, by shape (binary) and inside any URL', () => {
    const later = redactSecrets({
      oauth: { clientSecret: 's-1', refreshToken: 's-2', signingKeys: ['s-3'], keyId: 'kid-1', maxTokens: 10 },
      smtpPassword: 's-4',
      hmac: Buffer.from('s-5'),
      webhook: 'https://hooks.internal/x?token=s-6&team=ops',
      broker: 'amqp://user:s-7@mq.internal:5672',
      apiKeyEnv: 'VENDOR_KEY',
    });
    const out = JSON.stringify(later);
    for (const s of ['s-1', 's-2', 's-3', 's-4', 's-5', 's-6', 's-7']) expect(out).not.toContain(s);
    expect(later).toMatchObject({ oauth: { keyId: 'kid-1', maxTokens: 10 }, apiKeyEnv: 'VENDOR_KEY', webhook: `https://hooks.internal/x?token=${REDACTED}&team=ops` });
  });

  it('is what the start-up line logs: no secret in the written line', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    createLogger('info', 'config-test', sink).info({ config: redactedConfig(config) }, 'effective configuration');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'effective configuration', config: { api: { port: 18080 } } });
    for (const secret of Object.values(secrets)) expect(lines[0]).not.toContain(secret);
  });
});
