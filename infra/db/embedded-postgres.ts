// The embedded database: PGlite (Postgres compiled to WASM) with pgvector, kept under the
// data dir and served on a local port (infra/db/pglite-server.ts), so the rest of the app
// talks to it with `pg` exactly as it would to a native Postgres.
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PgliteServer } from './pglite-server.js';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: {
  /** Directory for the database files; undefined keeps everything in memory (tests). */
  dataDir?: string;
  port?: number;
}): Promise<EmbeddedPostgres> {
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir: opts.dataDir, extensions: { vector } });
  const server = new PgliteServer(db);
  const port = await server.listen(opts.port ?? 0);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    async stop() {
      await server.close();
      await db.close();
    },
  };
}
