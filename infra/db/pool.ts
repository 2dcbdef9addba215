// The one way the app talks to Postgres: a `pg` pool, whether the server is PGlite behind
// its socket server or a native Postgres. Vectors travel as pgvector's text form.
import pg from 'pg';
import pgvector from 'pgvector';
import type { Logger } from '../logger.js';

export type Db = pg.Pool;
export type DbClient = pg.PoolClient;

export function createPool(url: string, size: number, log?: Logger): Db {
  const pool = new pg.Pool({ connectionString: url, max: size, idleTimeoutMillis: 30_000 });
  // An idle client's error (the server went away) must not crash the process; the next
  // query gets a fresh connection or a clear error.
  pool.on('error', (err) => log?.warn({ err: err.message }, 'idle database connection failed'));
  return pool;
}

/** Serialise an embedding for a `vector` parameter. */
export function toVectorParam(values: ArrayLike<number>): string {
  return pgvector.toSql(Array.from(values)) as string;
}

/** Run `fn` in a transaction on one connection; roll back on any error. */
export async function inTransaction<T>(db: Db, fn: (client: DbClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export interface DbCapabilities {
  pgvectorVersion: string;
  /** pgvector ≥ 0.8 can keep scanning an HNSW index until a filtered query has k rows. */
  iterativeScan: boolean;
  serverVersion: string;
}

export async function detectCapabilities(db: Db): Promise<DbCapabilities> {
  const { rows } = await db.query<{ extversion: string; server: string }>(
    `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS extversion,
            current_setting('server_version') AS server`,
  );
  const version = rows[0]?.extversion ?? '0';
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return {
    pgvectorVersion: version,
    iterativeScan: major > 0 || minor >= 8,
    serverVersion: rows[0]?.server ?? 'unknown',
  };
}
