// query_sql: text-to-SQL over the tenant's own tables. The pipeline:
//   1. the schema catalog (schema-catalog.ts): the tables the tenant's reader role can see,
//      narrowed to the relevant ones when there are too many for the prompt;
//   2. one SELECT written by the model (or, offline, by the rule-based writer in
//      gateway/local/sql.ts), as JSON {"sql": …};
//   3. the guard (sql-guard.ts, sql-bounds.ts): PostgreSQL's own parser must read it as one
//      read-only SELECT over those tables (CTE names resolved by scope) with harmless functions
//      and types only, and nothing whose running time the planner cannot see (recursion,
//      computed series, moving window frames, backtracking regexes, values grown without bound);
//   4. the executor below: a READ ONLY transaction, the tenant's reader role, the tenant's
//      schema as the only search path, a statement timeout, a planner-cost ceiling and a row
//      limit, always rolled back;
//   5. the rows, JSON-safe, for the agent to answer from (writing the answer is its job).
// A refusal or a PostgreSQL error (a misspelt column) goes back to the model once for a repair.
import { builtinPrompt, promptUse, renderPrompt, resolvePrompt, type ResolvedPrompt } from '../prompts/store.js';
import pg from 'pg';
import { z } from 'zod';
import type { Db, DbClient } from '../../infra/db/pool.js';
import { quoteIdent, tenantReaderRole, tenantSchema } from '../../infra/db/tenant-schema.js';
import type { ChatMessage, SqlReply, SqlTableSummary, Usage } from '../gateway/types.js';
import { addUsage } from '../../contracts/task.js';
import { describeTable, loadSchemaCatalog, selectTables, type CatalogTable } from './schema-catalog.js';
import { checkReadOnlySql } from './sql-guard.js';
import { InvalidToolArguments, type ToolContext, type ToolDefinition, type ToolOutput } from './types.js';

// ---------------------------------------------------------------------------------------------
// Executor
// ---------------------------------------------------------------------------------------------

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface ReadOnlyQuery {
  tenantId: string;
  /** One SELECT, as the guard returns it; it becomes a subquery, so no trailing semicolon. */
  sql: string;
  /** Rows returned at most; one more is fetched to tell whether there were more. Default 100. */
  maxRows?: number;
  /** statement_timeout in ms. Default 5000. Not enforced by PGlite (see maxCost). */
  timeoutMs?: number;
  /** Refuse plans the planner estimates costlier than this. Default 1e6 (5e4 on PGlite); Infinity turns it off. */
  maxCost?: number;
}

export interface QueryRows {
  /** Column names, made unique ("name", "name_2") so no value is lost to a duplicate key. */
  columns: string[];
  rows: Array<Record<string, JsonValue>>;
  rowCount: number;
  truncated: boolean;
}

export type SqlQueryErrorKind = 'invalid' | 'too_costly' | 'timeout' | 'denied' | 'escalation';

/** The database refused or failed the query itself (not the connection). */
export class SqlQueryError extends Error {
  override name = 'SqlQueryError';
  constructor(
    readonly kind: SqlQueryErrorKind,
    message: string,
    /** The SQLSTATE, when PostgreSQL raised it. */
    readonly code?: string,
  ) {
    super(message);
  }

  /** Worth showing the model for a corrected query: it wrote something wrong, not something forbidden. */
  get repairable(): boolean {
    return this.kind === 'invalid' || this.kind === 'too_costly';
  }
}

export const DEFAULT_MAX_ROWS = 100;
export const DEFAULT_TIMEOUT_MS = 5_000;
/**
 * Planner cost units (≈ one sequential page read each). A million is a few seconds of work on
 * native Postgres, where the statement timeout stops what the estimate missed; the demo
 * questions cost under a hundred. PGlite gets PGLITE_MAX_COST: WASM Postgres has no timer
 * signals, so statement_timeout never fires there and a running query cannot be cancelled
 * (infra/db/pglite-server.ts), which makes a refusal before it runs the only stop.
 */
export const DEFAULT_MAX_COST = 1_000_000;
/**
 * PGlite's ceiling. Measured there, 80 000 cost units of a cross join took half a second, so a
 * million would be seven seconds of a frozen service; 50 000 keeps any accepted plan well
 * under a second or two even on a busy machine. Native Postgres keeps the higher ceiling: its
 * statement timeout stops whatever the estimate missed.
 */
export const PGLITE_MAX_COST = 50_000;

const pgliteDatabases = new WeakMap<Db, boolean>();

async function isPglite(db: Db, client: DbClient): Promise<boolean> {
  let known = pgliteDatabases.get(db);
  if (known === undefined) {
    const { rows } = await client.query<{ pglite: boolean }>("SELECT strpos(version(), 'PGlite') > 0 AS pglite");
    known = rows[0]?.pglite === true;
    pgliteDatabases.set(db, known);
  }
  return known;
}
const MAX_CELL_CHARS = 1_000;

// Dates, times and intervals keep PostgreSQL's own text: pg would turn a `date` into a local
// midnight Date and an interval into an object. timestamptz stays a Date and becomes ISO below.
const RAW_TEXT_TYPES = new Set([1082 /* date */, 1083 /* time */, 1114 /* timestamp */, 1186 /* interval */, 1266 /* timetz */]);
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    RAW_TEXT_TYPES.has(oid) ? (value: string) => value : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A value the model can read as JSON: ISO dates, strings for big and exact numbers, capped text. */
function jsonSafe(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.subarray(0, MAX_CELL_CHARS / 2).toString('hex')}`;
  if (typeof value === 'string') return value.length > MAX_CELL_CHARS ? `${value.slice(0, MAX_CELL_CHARS)}…` : value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  return String(value);
}

function uniqueColumns(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}_${n}`;
  });
}

/** Errors of the user's query: classified when PostgreSQL raised them, undefined for connection trouble (retry). */
function classifyPgError(err: unknown, timeoutMs: number): SqlQueryError | undefined {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  if (code === '57014') return new SqlQueryError('timeout', `the query ran longer than ${timeoutMs} ms and was cancelled`, code);
  // insufficient_privilege, read_only_sql_transaction: the locks held.
  if (code === '42501' || code === '25006') return new SqlQueryError('denied', message, code);
  // Connection, resources, operator intervention, serialization, internal: transient, not the SQL's fault.
  if (/^(08|53|57|58|40|XX)/.test(code)) return undefined;
  return new SqlQueryError('invalid', message, code);
}

async function userQuery(client: DbClient, text: string, timeoutMs: number): Promise<pg.QueryArrayResult> {
  // The extended protocol takes exactly one statement: even unguarded text cannot smuggle in a second.
  const config: pg.QueryArrayConfig & { queryMode: 'extended' } = { text, rowMode: 'array', queryMode: 'extended', types: typeParsers };
  try {
    return await client.query(config);
  } catch (err) {
    throw classifyPgError(err, timeoutMs) ?? err;
  }
}

/**
 * Run one SELECT as the tenant's reader role: READ ONLY transaction, search_path the tenant's
 * schema, statement timeout, planner-cost ceiling, at most `maxRows` rows; always rolled back.
 * It does not parse the SQL (the guard does); it is the lock that holds when the guard fails.
 */
export async function runReadOnlyQuery(db: Db, query: ReadOnlyQuery): Promise<QueryRows> {
  const maxRows = query.maxRows ?? DEFAULT_MAX_ROWS;
  const timeoutMs = query.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be a positive integer, got ${maxRows}`);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`timeoutMs must be a positive integer, got ${timeoutMs}`);
  const role = tenantReaderRole(query.tenantId);
  // Newlines around the statement: a trailing `-- comment` must not swallow the closing parenthesis.
  const wrapped = `SELECT * FROM (\n${query.sql}\n) AS q LIMIT ${maxRows + 1}`;

  const client = await db.connect();
  let broken: Error | undefined;
  try {
    const maxCost = query.maxCost ?? ((await isPglite(db, client)) ? PGLITE_MAX_COST : DEFAULT_MAX_COST);
    // pg_temp last: otherwise a temporary table of this session would be searched first.
    await client.query(
      `BEGIN READ ONLY;
       SET LOCAL ROLE ${quoteIdent(role)};
       SET LOCAL search_path = ${quoteIdent(tenantSchema(query.tenantId))}, pg_temp;
       SET LOCAL statement_timeout = ${timeoutMs}`,
    );
    if (Number.isFinite(maxCost)) {
      const plan = await userQuery(client, `EXPLAIN (FORMAT JSON) ${wrapped}`, timeoutMs);
      const cost = Number((plan.rows[0]?.[0] as Array<{ Plan?: { 'Total Cost'?: number } }> | undefined)?.[0]?.Plan?.['Total Cost']);
      if (!(cost <= maxCost)) {
        throw new SqlQueryError(
          'too_costly',
          `the query's estimated cost (${Math.round(cost)}) is over the limit (${maxCost}); filter or aggregate more, or join less`,
        );
      }
    }
    const result = await userQuery(client, wrapped, timeoutMs);
    // The session user is privileged, so a query that reaches set_config('role', …) could become
    // it again. The guard refuses such functions; should one get through, nothing it read leaves.
    const { rows: who } = await client.query<{ role: string }>('SELECT current_user AS role');
    if (who[0]?.role !== role) {
      throw new SqlQueryError('escalation', 'the query changed its database role; its results were discarded');
    }
    const columns = uniqueColumns(result.fields.map((f) => f.name));
    const truncated = result.rows.length > maxRows;
    const rows = result.rows.slice(0, maxRows).map((values) => Object.fromEntries(columns.map((c, i) => [c, jsonSafe(values[i])])));
    return { columns, rows, rowCount: rows.length, truncated };
  } finally {
    await client.query('ROLLBACK').catch((err: Error) => (broken = err));
    // A connection that cannot roll back is not handed to the next caller.
    client.release(broken);
  }
}

// ---------------------------------------------------------------------------------------------
// Generation and repair
// ---------------------------------------------------------------------------------------------

export interface QuerySqlOptions {
  maxRows?: number;
  timeoutMs?: number;
  maxCost?: number;
  /** Show the model every table up to this many; more are narrowed by relevance. Default 8. */
  maxTables?: number;
  /** Prompt tokens the table summaries may take. Default 2000. */
  tokenBudget?: number;
}

/** The system prompt: dialect, rules, and the tables with their columns and keys. */
export function buildSqlPrompt(question: string, tables: CatalogTable[], maxRows = DEFAULT_MAX_ROWS, prompt: ResolvedPrompt = builtinPrompt('sql.system')): ChatMessage[] {
  const system = renderPrompt(prompt, { maxRows, tables: tables.map(describeTable).join('\n') });
  return [
    { role: 'system', content: system },
    { role: 'user', content: `Question: ${question}` },
  ];
}

/** The model's reply: JSON {"sql": …} as asked; a bare SELECT (or a fenced one) is taken too. */
export function parseSqlReply(content: string): SqlReply | undefined {
  const text = content.trim().replace(/^```[a-z]*\s*([\s\S]*?)\s*```$/i, '$1').trim();
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && 'sql' in json) {
      const { sql, reason } = json as { sql: unknown; reason?: unknown };
      if (sql === null || typeof sql === 'string') {
        return { sql: typeof sql === 'string' && sql.trim() ? sql : null, reason: typeof reason === 'string' ? reason : undefined };
      }
    }
    return undefined;
  } catch {
    return /^(select|with)\b/i.test(text) ? { sql: text } : undefined;
  }
}

/** Attempts in all: the first query and one repair. */
const ATTEMPTS = 2;

/** The whole pipeline for one question; throws InvalidToolArguments for anything the agent should read as an observation. */
export async function answerWithSql(question: string, ctx: ToolContext, opts: QuerySqlOptions = {}): Promise<ToolOutput> {
  const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
  const catalog = await loadSchemaCatalog(ctx.db, ctx.tenantId);
  if (catalog.tables.length === 0) throw new InvalidToolArguments('there are no tables to query for this tenant');
  const tables = await selectTables(catalog, question, ctx.embedder, opts);
  const summaries: SqlTableSummary[] = tables.map(({ name, description, columns }) => ({ name, description, columns }));
  // Every readable table, not only those shown: a model that knows another one may use it.
  const knownTables = catalog.tables.map((t) => t.name);
  const prompt = await resolvePrompt(ctx.gateway, 'sql.system', ctx);
  const messages = buildSqlPrompt(question, tables, maxRows, prompt);

  let usage: Usage | undefined;
  let model: string | undefined;
  let previousSql: string | undefined;
  let problem = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const reply = await ctx.gateway.chat(
      { messages, prompt: promptUse(prompt), model: ctx.model, responseFormat: 'json', temperature: 0, maxTokens: 1000, offline: { kind: 'sql', question, tables: summaries }, signal: ctx.signal },
      { tenantId: ctx.tenantId, taskId: ctx.taskId, step: attempt === 1 ? 'query_sql' : 'query_sql:repair' },
    );
    usage = usage ? addUsage(usage, reply.usage) : reply.usage;
    model = reply.model;
    const parsed = parseSqlReply(reply.content);
    if (parsed?.sql === null) throw new InvalidToolArguments(`no SQL query can answer this: ${parsed.reason ?? 'the model gave no reason'}`);
    // The same query again (the offline writer cannot learn): the repair would fail the same way.
    if (parsed && parsed.sql === previousSql) break;
    previousSql = parsed?.sql;

    if (!parsed) {
      problem = 'the reply was not the JSON object {"sql": "SELECT …"}';
    } else {
      const verdict = await checkReadOnlySql(parsed.sql, { knownTables });
      if (!verdict.ok) {
        problem = `the query was refused: ${verdict.reason}`;
      } else {
        // The model call honours the signal; the query itself would only be abandoned mid-way.
        ctx.signal?.throwIfAborted();
        try {
          const result = await runReadOnlyQuery(ctx.db, { tenantId: ctx.tenantId, sql: verdict.sql, maxRows, timeoutMs: opts.timeoutMs, maxCost: opts.maxCost });
          return toolOutput(verdict.sql, verdict.tables, result, maxRows, usage, model);
        } catch (err) {
          if (!(err instanceof SqlQueryError)) throw err;
          if (!err.repairable) throw new InvalidToolArguments(`the query failed: ${err.message}`);
          problem = `PostgreSQL rejected the query: ${err.message}`;
        }
      }
    }
    ctx.log.info({ tenantId: ctx.tenantId, taskId: ctx.taskId, attempt, problem }, 'query_sql: generated SQL not usable');
    messages.push(
      { role: 'assistant', content: reply.content },
      { role: 'user', content: `That did not work: ${problem}. Reply with a corrected query as JSON {"sql": "SELECT …"}.` },
    );
  }
  throw new InvalidToolArguments(previousSql ? `${problem} (SQL: ${previousSql.replace(/\s+/g, ' ').slice(0, 300)})` : problem);
}

function toolOutput(sql: string, tables: string[], result: QueryRows, maxRows: number, usage: Usage | undefined, model: string | undefined): ToolOutput {
  const noun = result.rowCount === 1 ? 'row' : 'rows';
  const from = tables.length ? ` from ${tables.join(', ')}` : '';
  const more = result.truncated ? ` (the first ${maxRows}; there are more)` : '';
  return {
    content: { sql, ...result },
    summary: `${result.rowCount} ${noun}${from}${more}`,
    usage,
    model,
    provenance: [
      {
        type: 'tool_output',
        tool: 'query_sql',
        // Filled in by the caller, which knows the call's id.
        callId: '',
        excerpt: `${sql.replace(/\s+/g, ' ')}\n→ ${JSON.stringify(result.rows.slice(0, 5))}`.slice(0, 600),
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// The tool
// ---------------------------------------------------------------------------------------------

export const querySqlParameters = z.object({
  question: z
    .string()
    .min(3)
    .max(2000)
    .describe("The question to answer from the organisation's own database tables, in plain words (e.g. \"When did John Doe last buy something?\")"),
});

export function createQuerySqlTool(opts: QuerySqlOptions = {}): ToolDefinition<typeof querySqlParameters> {
  return {
    name: 'query_sql',
    description:
      "Look facts up in the organisation's own database (customers, products, orders, refunds and the like): writes and runs one read-only SQL query for the question and returns the SQL, its columns and rows.",
    parameters: querySqlParameters,
    kind: 'read',
    // The user's own question over the tenant's own tables: its rows may name whom a write acts on.
    trustedOutput: true,
    // The tenant's tables change under it: a minute bounds what another system's writes leave
    // stale, and every write action Gatehouse executes evicts the tenant's results at once.
    cache: { ttlSeconds: 60 },
    run: (args, ctx) => answerWithSql(args.question, ctx, opts),
  };
}

export const querySqlTool = createQuerySqlTool();
