// Runs one entry of the hostile corpus (hostile-sql.ts): the guard's verdict and, for an
// accepted query, what it did on a database — shared by the corpus test and the bench report.
import type { Db } from '../../infra/db/pool.js';
import { quoteIdent, tenantReaderRole, tenantSchema } from '../../infra/db/tenant-schema.js';
import { runReadOnlyQuery, SqlQueryError } from '../../activities/tools/query-sql.js';
import type { SqlVerdict } from '../../activities/tools/sql-guard.js';
import { OTHER, type HostileQuery } from './hostile-sql.js';

/** Longer than this is misbehaviour: on PGlite nothing would have stopped it. */
export const CORPUS_WALL_LIMIT_MS = 2_000;

export interface CorpusRun {
  ms: number;
  /** 'rows' (n rows) or the executor's refusal or PostgreSQL's error. */
  outcome: string;
  /** Why it misbehaved; undefined when it behaved. */
  misbehaved?: string;
}

export function corpusSql(entry: HostileQuery, otherTenant: string): string {
  return entry.sql.replaceAll(OTHER, tenantSchema(otherTenant));
}

/** Text an answer from the tenant's own tables never contains (unless the query itself wrote it). */
function leakMarkers(tenant: string, other: string): string[] {
  return [tenantSchema(other), other, tenantReaderRole(other), 'gatehouse_sql_', 'pg_catalog', 'pg_toast', 'information_schema', 'postgres', 'rolpassword', 'api_keys', 'tenants', 'SCRAM-SHA', 'md5', tenantSchema(tenant)];
}

async function tenantFingerprint(db: Db, tenant: string): Promise<string> {
  const schema = quoteIdent(tenantSchema(tenant));
  const { rows } = await db.query(
    `SELECT (SELECT count(*) FROM ${schema}.customers)::int AS c, (SELECT count(*) FROM ${schema}.orders)::int AS o,
            (SELECT count(*) FROM ${schema}.refunds)::int AS r, (SELECT string_agg(tier, ',' ORDER BY id) FROM ${schema}.customers) AS t`,
  );
  return JSON.stringify(rows[0]);
}

/** Run an accepted query as query_sql would, and judge what came back. */
/**
 * The statement timeout below the wall limit: on native Postgres a cancelled query is the
 * backstop holding (no data, in time); PGlite cannot cancel, so there only the wall time counts.
 */
const STATEMENT_TIMEOUT_MS = 1_500;

export async function runAccepted(db: Db, verdict: Extract<SqlVerdict, { ok: true }>, tenant: string, other: string, timeoutMs = STATEMENT_TIMEOUT_MS): Promise<CorpusRun> {
  const before = await tenantFingerprint(db, tenant);
  const t0 = performance.now();
  let outcome: string;
  let misbehaved: string | undefined;
  try {
    const result = await runReadOnlyQuery(db, { tenantId: tenant, sql: verdict.sql, timeoutMs });
    outcome = `${result.rowCount} rows`;
    const text = JSON.stringify(result.rows);
    const leak = leakMarkers(tenant, other).find((m) => text.toLowerCase().includes(m.toLowerCase()) && !verdict.sql.toLowerCase().includes(m.toLowerCase()));
    if (leak) misbehaved = `returned "${leak}"`;
  } catch (err) {
    if (!(err instanceof SqlQueryError)) throw err;
    outcome = `${err.kind}: ${err.message.slice(0, 80)}`;
    if (err.kind === 'escalation') misbehaved = 'changed its role (the guard let it through)';
  }
  const ms = performance.now() - t0;
  if (ms > CORPUS_WALL_LIMIT_MS) misbehaved = `ran ${Math.round(ms)} ms`;
  if ((await tenantFingerprint(db, tenant)) !== before) misbehaved = "changed the tenant's data";
  const { rows } = await db.query<{ who: string }>('SELECT current_user AS who');
  if (rows[0]?.who === tenantReaderRole(tenant)) misbehaved = 'left the connection in the reader role';
  return { ms, outcome, misbehaved };
}
