// The embedded database: PGlite (Postgres compiled to WASM) with pgvector, kept under the
// data dir and served on a local port by its socket server, so the rest of the app talks
// to it with `pg` exactly as it would to a native Postgres.
//
// PGlite runs one session: the socket server queues statements from all connections and
// keeps a transaction's statements together. Keep transactions short and never wait on a
// second connection inside one.
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: {
  /** Directory for the database files; undefined keeps everything in memory (tests). */
  dataDir?: string;
  port?: number;
  maxConnections?: number;
}): Promise<EmbeddedPostgres> {
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const db = await PGlite.create({
    dataDir: opts.dataDir,
    extensions: { vector },
  });
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: opts.port ?? 0,
    maxConnections: opts.maxConnections ?? 32,
  });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`;
  return {
    url,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
