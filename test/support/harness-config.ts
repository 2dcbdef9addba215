// Test configuration that needs no test runner: shared by the vitest harness and by scripts
// (history recording) that run under plain tsx.
import { randomBytes } from 'node:crypto';
import { HashingEmbedder, type Embedder } from '../../activities/retrieval/embeddings.js';
import { loadConfig, type CacheSettings, type Config } from '../../infra/config.js';
import { createLogger } from '../../infra/logger.js';
import { gatehouseDataConverter } from '../../infra/payload-codec.js';

/** The embedder every shared test database is migrated for: fast and deterministic. */
export const TEST_EMBEDDER: Embedder = new HashingEmbedder(384);

export const testLog = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'gatehouse-test');

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** A fixed key ring (test-2 current, test-1 decrypt-only), so every test process reads every other's history. */
export const TEST_PAYLOAD_KEYS = `test-2:${Buffer.alloc(32, 2).toString('base64')},test-1:${Buffer.alloc(32, 1).toString('base64')}`;

/** The caches are off unless a test turns them on: other tests count the model calls they cause. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ EMBEDDING_PROVIDER: 'hashing', GATEHOUSE_DATA_DIR: '/tmp/gatehouse-test-data', PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS, GATEHOUSE_CACHE: 'off', ...env });
}

/** The data converter of test clients and workers (encrypting, as in production; payloads of no tenant). */
export const TEST_DATA_CONVERTER = gatehouseDataConverter(testConfig().temporal.payloadKeys!);

/** For reading recorded histories only: they may hold plaintext payloads from before the codec. */
export const REPLAY_DATA_CONVERTER = gatehouseDataConverter(testConfig().temporal.payloadKeys!, { acceptPlaintext: true });

/** Every cache layer on, for tests that build an ExactCache by hand. */
export const allLayers: Pick<CacheSettings, 'layers' | 'semanticThreshold'> = {
  layers: { model: true, retrieval: true, tool: true, semantic: 'on' },
  semanticThreshold: 0.9,
};
