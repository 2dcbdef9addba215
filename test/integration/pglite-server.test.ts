// The embedded database's wire server must keep concurrent clients apart: PGlite is one
// session, and interleaving two clients' extended-protocol batches mixes up their queries
// (the failure mode of electric-sql/pglite#1046, which our own server exists to avoid).
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../infra/db/embedded-postgres.js';
import { createPool, type Db } from '../../infra/db/pool.js';

async function connectWith(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return (await client.query<{ x: number }>('SELECT 1 AS x')).rows[0]!.x;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withPassword(url: string, password: string | undefined): string {
  const u = new URL(url);
  u.password = password ?? '';
  return u.toString();
}

describe('embedded Postgres wire server', () => {
  let server: EmbeddedPostgres;
  let db: Db;
  beforeAll(async () => {
    server = await startEmbeddedPostgres({});
    db = createPool(server.url, 10);
  });
  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it('asks for the password (SCRAM-SHA-256): refuses a connection without it or with a wrong one', async () => {
    expect(new URL(server.url).password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await expect(connectWith(withPassword(server.url, undefined))).rejects.toThrow(/password/i);
    await expect(connectWith(withPassword(server.url, 'not-the-password'))).rejects.toThrow(/password authentication failed/);
    expect(await connectWith(server.url)).toBe(1);
    // A refused client leaves the server serving everyone else.
    expect((await db.query('SELECT 2 AS x')).rows[0]).toEqual({ x: 2 });
  });

  it('keeps its password in a 0600 file, created once and the same on the next start', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-pglite-pw-'));
    const passwordFile = path.join(dir, 'pglite-password');
    try {
      const first = await startEmbeddedPostgres({ passwordFile });
      const password = new URL(first.url).password;
      await first.stop();
      expect((await readFile(passwordFile, 'utf8')).trim()).toBe(password);
      expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
      const second = await startEmbeddedPostgres({ passwordFile });
      try {
        expect(new URL(second.url).password).toBe(password);
        expect(await connectWith(second.url)).toBe(1);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers each of many concurrent parameterised queries with its own result', async () => {
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => db.query<{ i: number; s: string }>('SELECT $1::int AS i, repeat($2::text, 2) AS s', [i, `v${i}`])),
    );
    results.forEach((r, i) => expect(r.rows[0]).toEqual({ i, s: `v${i}v${i}` }));
  });

  it('keeps a transaction to its own connection while others wait', async () => {
    await db.query('CREATE TABLE tx_probe (n int)');
    const tx = await db.connect();
    await tx.query('BEGIN');
    await tx.query('INSERT INTO tx_probe VALUES (1)');
    // This query must not run inside tx's transaction: it sees the table only after COMMIT.
    const outside = db.query<{ n: number }>('SELECT count(*)::int AS n FROM tx_probe');
    await new Promise((r) => setTimeout(r, 50));
    await tx.query('INSERT INTO tx_probe VALUES (2)');
    await tx.query('ROLLBACK');
    tx.release();
    expect((await outside).rows[0]!.n).toBe(0);
  });

  it('rolls back the open transaction of a client that disconnects', async () => {
    await db.query('CREATE TABLE dropped_probe (n int)');
    const pool = createPool(server.url, 1);
    const client = await pool.connect();
    await client.query('BEGIN');
    await client.query('INSERT INTO dropped_probe VALUES (1)');
    client.release(true); // destroys the connection mid-transaction
    await pool.end();
    expect((await db.query('SELECT count(*)::int AS n FROM dropped_probe')).rows[0].n).toBe(0);
  });

  it('recovers from an error in the middle of a batch', async () => {
    await expect(db.query('SELEC broken')).rejects.toThrow(/syntax error/);
    await expect(db.query('SELECT 1/0')).rejects.toThrow(/division by zero/);
    expect((await db.query('SELECT 42 AS x')).rows[0]).toEqual({ x: 42 });
  });
});
