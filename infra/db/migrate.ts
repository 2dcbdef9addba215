// Numbered SQL migrations (migrations/NNN_name.sql), applied once each, in order, each in
// its own transaction, recorded in schema_migrations. An advisory lock keeps two
// processes starting at once from applying the same migration twice.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config.js';
import type { Logger } from '../logger.js';
import { inTransaction, type Db } from './pool.js';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const LOCK_ID = 0x6761_7465; // "gate"

export interface MigrationOptions {
  embeddingDimensions: number;
  /** Identifies the embedder; chunks embedded by one model cannot be searched with another. */
  embedderId: string;
  log?: Logger;
}

export async function migrate(db: Db, opts: MigrationOptions): Promise<string[]> {
  // Under the lock: two processes starting on a fresh database would otherwise race to create it.
  await inTransaction(db, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  });
  const files = orderedMigrations(await readdir(MIGRATIONS_DIR));
  const applied: string[] = [];
  for (const file of files) {
    const version = Number(file.slice(0, 3));
    const done = await inTransaction(db, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
      const { rowCount } = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [version]);
      if (rowCount) return false;
      const sql = (await readFile(path.join(MIGRATIONS_DIR, file), 'utf8')).replaceAll(
        '{{EMBEDDING_DIMENSIONS}}',
        String(opts.embeddingDimensions),
      );
      await client.query(sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, file]);
      return true;
    });
    if (done) {
      applied.push(file);
      opts.log?.info({ migration: file }, 'migration applied');
    }
  }
  await checkEmbeddingSettings(db, opts);
  return applied;
}

/**
 * The migration files in order. Versions are recorded by number, so two files with one number
 * (two branches that each took the next) would apply only the first, silently: refuse instead.
 */
export function orderedMigrations(names: string[]): string[] {
  const files = names.filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
  files.forEach((file, i) => {
    const previous = files[i - 1];
    if (previous?.slice(0, 3) === file.slice(0, 3)) throw new ConfigError(`migrations ${previous} and ${file} share version ${file.slice(0, 3)}: renumber one`);
  });
  return files;
}

/** Record the embedding settings on first run; refuse to start if they changed since. */
async function checkEmbeddingSettings(db: Db, opts: MigrationOptions): Promise<void> {
  await db.query(
    `INSERT INTO settings (key, value) VALUES ('embedding_dimensions', $1), ('embedder', $2)
     ON CONFLICT (key) DO NOTHING`,
    [String(opts.embeddingDimensions), opts.embedderId],
  );
  const { rows } = await db.query<{ key: string; value: string }>(
    `SELECT key, value FROM settings WHERE key IN ('embedding_dimensions', 'embedder')`,
  );
  const stored = Object.fromEntries(rows.map((r) => [r.key, r.value]));
  if (stored.embedding_dimensions !== String(opts.embeddingDimensions)) {
    throw new ConfigError(
      `EMBEDDING_DIMENSIONS: this database holds ${stored.embedding_dimensions}-dimension vectors; use that, or a fresh database`,
    );
  }
  if (stored.embedder !== opts.embedderId) {
    throw new ConfigError(
      `EMBEDDING_MODEL: this database was embedded with "${stored.embedder}", not "${opts.embedderId}"; vectors of different models cannot be compared — use the same model or a fresh database`,
    );
  }
}
