// The migrations' order, and the one mistake their numbering invites.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { orderedMigrations } from '../../infra/db/migrate.js';

describe('migrations', () => {
  it('orders the files by version and ignores anything else', () => {
    expect(orderedMigrations(['002_b.sql', 'README.md', '001_a.sql', '010_c.sql'])).toEqual(['001_a.sql', '002_b.sql', '010_c.sql']);
  });

  it('refuses two files with one version, which would apply only the first', () => {
    expect(() => orderedMigrations(['006_gateway_limits.sql', '006_model_usage_cache_tokens.sql'])).toThrow(/share version 006: renumber one/);
  });

  it('holds for the migrations in the repository', () => {
    expect(() => orderedMigrations(readdirSync(new URL('../../infra/db/migrations/', import.meta.url)))).not.toThrow();
  });
});
