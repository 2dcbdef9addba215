// A tenant's own business tables live in a schema of their own (`tenant_<id>`), readable by
// query_sql only through a per-tenant NOLOGIN role with USAGE and SELECT there and nothing else.
// Every tool that reads or writes those tables names them through these helpers; demo seeding
// sets a schema up through them too.
import { createHash } from 'node:crypto';
import type { Db, DbClient } from './pool.js';

/** Quote an identifier for SQL (tenant ids are [a-z0-9_-], but quoting is never optional). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The schema holding a tenant's own tables. */
export function tenantSchema(tenantId: string): string {
  return `tenant_${tenantId}`;
}

/** The role `query_sql` runs as: USAGE on the tenant's schema and SELECT on its tables, nothing else. */
export function tenantReaderRole(tenantId: string): string {
  // Role names are cluster-wide and at most 63 bytes.
  const id = tenantId.length <= 50 ? tenantId : createHash('sha256').update(tenantId).digest('hex').slice(0, 50);
  return `gatehouse_sql_${id}`;
}

/**
 * Create the tenant's schema and its read-only role (idempotent). Every table in the schema,
 * now or later, is readable by the role and by nothing else it is given.
 */
export async function setUpTenantSchema(client: DbClient | Db, tenantId: string): Promise<void> {
  const schema = quoteIdent(tenantSchema(tenantId));
  const role = quoteIdent(tenantReaderRole(tenantId));
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await client.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${tenantReaderRole(tenantId).replaceAll("'", "''")}') THEN
        CREATE ROLE ${role} NOLOGIN;
      END IF;
    END $$`);
  await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
  await client.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${role}`);
}
