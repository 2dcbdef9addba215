// Test configuration that needs no test runner: shared by the vitest harness and by scripts
// (history recording) that run under plain tsx.
import { randomBytes } from 'node:crypto';
import { HashingEmbedder, type Embedder } from '../../activities/retrieval/embeddings.js';
import { loadConfig, type Config } from '../../infra/config.js';
import { createLogger } from '../../infra/logger.js';

/** The embedder every shared test database is migrated for: fast and deterministic. */
export const TEST_EMBEDDER: Embedder = new HashingEmbedder(384);

export const testLog = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'gatehouse-test');

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ EMBEDDING_PROVIDER: 'hashing', GATEHOUSE_DATA_DIR: '/tmp/gatehouse-test-data', ...env });
}
