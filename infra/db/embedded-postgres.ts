// The embedded database: PGlite (Postgres compiled to WASM) with pgvector, kept under the
// data dir and served on a local port (infra/db/pglite-server.ts), so the rest of the app
// talks to it with `pg` exactly as it would to a native Postgres. The port asks for a password:
// one kept in `passwordFile` (generated on first start, mode 0600), or, without one, a fresh
// one per start (tests). It travels in `url` only, which is never logged.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { readOrCreateSecret } from '../secret-file.js';
import { PgliteServer } from './pglite-server.js';

export interface EmbeddedPostgres {
  /** The connection URL, password included. */
  url: string;
  stop(): Promise<void>;
}

const generatePassword = () => randomBytes(24).toString('base64url');

export async function startEmbeddedPostgres(opts: {
  /** Directory for the database files; undefined keeps everything in memory (tests). */
  dataDir?: string;
  /** Where the wire server's password is kept; undefined means a new one for this start. */
  passwordFile?: string;
  port?: number;
}): Promise<EmbeddedPostgres> {
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const password = opts.passwordFile ? await readOrCreateSecret(opts.passwordFile, generatePassword) : generatePassword();
  const db = await PGlite.create({ dataDir: opts.dataDir, extensions: { vector } });
  const server = new PgliteServer(db, { password });
  const port = await server.listen(opts.port ?? 0);
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres?sslmode=disable`,
    async stop() {
      await server.close();
      await db.close();
    },
  };
}
