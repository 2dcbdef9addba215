// The hostile corpus (test/support/hostile-sql.ts) against the whole of query_sql's defence:
// every entry is refused by the guard, or — accepted — runs on both PGlite and native Postgres
// within the time limit, returns nothing but the tenant's own data and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReadOnlySql } from '../../activities/tools/sql-guard.js';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import type { Services } from '../../infra/services.js';
import { testServices, uniqueId, type DbKind } from '../support/harness.js';
import { HOSTILE_SQL } from '../support/hostile-sql.js';
import { corpusSql, runAccepted } from '../support/hostile-sql-run.js';

const knownTables = ['customers', 'orders', 'products', 'refunds'];

it('has at least 100 entries, most of them hostile', () => {
  expect(HOSTILE_SQL.length).toBeGreaterThanOrEqual(100);
  expect(HOSTILE_SQL.filter((e) => e.category !== 'benign').length).toBeGreaterThanOrEqual(100);
});

describe.each<DbKind>(['pglite', 'native'])('the hostile corpus on %s', (kind) => {
  let services: Services;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    services = await testServices(kind);
    tenant = uniqueId('corpus');
    other = uniqueId('corpus-other');
    await seedDemoDomain(services.db, tenant);
    await seedDemoDomain(services.db, other);
  });
  afterAll(() => services.close());

  it.each(HOSTILE_SQL.map((e) => [`${e.category}: ${e.label}`, e] as const))('%s', async (_name, entry) => {
    const verdict = await checkReadOnlySql(corpusSql(entry, other), { knownTables });
    if (entry.category === 'benign') expect(verdict.ok, verdict.ok ? '' : verdict.reason).toBe(true);
    if (!verdict.ok) {
      expect(verdict.reason).toMatch(/\w/);
      return;
    }
    const run = await runAccepted(services.db, verdict, tenant, other);
    expect(run.misbehaved, `${run.outcome} in ${Math.round(run.ms)} ms`).toBeUndefined();
  });
});
