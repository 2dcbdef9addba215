// The gate between model-written SQL and the database. It trusts nothing it cannot parse: the
// text goes through libpg-query (the real PostgreSQL parser, as WASM), and the tree must be
// exactly one plain SELECT built only from node types on an allow-list, reading only the
// tenant's own tables, calling only harmless built-in functions.
//
// It is the first of three independent locks. The executor (query-sql.ts) also runs the query
// in a READ ONLY transaction under a role that can read nothing but the tenant's schema. The
// guard still matters on its own: the session user is privileged, so a function such as
// set_config('role', …) could switch back to it from inside the query, and pg_catalog is
// readable by every role. Allow-lists, not deny-lists: a construct or function this file has
// never heard of is refused.
import { parse } from 'libpg-query';

export type SqlVerdict =
  | {
      ok: true;
      /** The single statement's text, without a trailing semicolon: safe to wrap as a subquery. */
      sql: string;
      /** The tenant tables it reads (CTE names excluded), in order of first mention. */
      tables: string[];
    }
  | { ok: false; reason: string };

export interface SqlGuardOptions {
  /** The tenant's table names. When given, any other relation (CTE names aside) is refused. */
  knownTables?: Iterable<string>;
}

/**
 * Built-in functions a read-only analytical query may call. Everything here computes a value
 * from its arguments; nothing reads settings, files, other databases, catalogs, sequences or
 * large objects, sleeps, locks, or changes session state.
 */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  // aggregates
  'count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'string_agg', 'array_agg',
  'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'stddev', 'stddev_pop', 'stddev_samp',
  'variance', 'var_pop', 'var_samp', 'percentile_cont', 'percentile_disc', 'mode', 'corr',
  // window functions
  'row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead',
  'first_value', 'last_value', 'nth_value',
  // strings
  'lower', 'upper', 'initcap', 'length', 'char_length', 'character_length', 'octet_length', 'substr',
  'substring', 'left', 'right', 'trim', 'btrim', 'ltrim', 'rtrim', 'replace', 'translate', 'concat',
  'concat_ws', 'lpad', 'rpad', 'position', 'strpos', 'split_part', 'starts_with', 'reverse', 'format',
  'overlay', 'regexp_replace', 'regexp_match', 'regexp_like', 'regexp_count', 'regexp_substr',
  'like_escape', 'similar_to_escape', 'md5', 'quote_literal', 'to_char', 'to_number',
  // dates and times
  'now', 'current_date', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'date_trunc',
  'date_part', 'extract', 'date_bin', 'age', 'make_date', 'make_time', 'make_timestamp', 'make_timestamptz',
  'make_interval', 'to_date', 'to_timestamp', 'justify_days', 'justify_hours', 'justify_interval',
  'isfinite', 'timezone', 'overlaps',
  // numbers
  'round', 'trunc', 'floor', 'ceil', 'ceiling', 'abs', 'sign', 'mod', 'power', 'sqrt', 'cbrt', 'exp',
  'ln', 'log', 'log10', 'div', 'width_bucket', 'greatest', 'least',
  // conditionals (most are syntax, parsed as their own nodes; these are the function forms)
  'coalesce', 'nullif', 'num_nulls', 'num_nonnulls',
  // json and arrays
  'to_json', 'to_jsonb', 'json_build_object', 'jsonb_build_object', 'json_build_array', 'jsonb_build_array',
  'row_to_json', 'json_extract_path_text', 'jsonb_extract_path_text', 'json_array_length',
  'jsonb_array_length', 'jsonb_typeof', 'json_typeof', 'array_length', 'array_position', 'array_to_string',
  'cardinality', 'unnest',
  // set-returning helpers, bounded by the statement timeout, the cost ceiling and the row limit
  'generate_series',
]);

/**
 * Parse-tree node types a SELECT may contain. Field objects the parser inlines (alias, typeName,
 * over, withClause) are not tagged and are checked where they appear.
 */
const ALLOWED_NODES: ReadonlySet<string> = new Set([
  'SelectStmt', 'ResTarget', 'ColumnRef', 'String', 'A_Star', 'A_Const', 'Integer', 'Float', 'Boolean',
  'BitString', 'FuncCall', 'A_Expr', 'BoolExpr', 'NullTest', 'BooleanTest', 'TypeCast', 'CaseExpr',
  'CaseWhen', 'CoalesceExpr', 'MinMaxExpr', 'SubLink', 'RangeVar', 'RangeSubselect', 'RangeFunction',
  'RangeTableSample', 'JoinExpr', 'SortBy', 'WindowDef', 'WithClause', 'CommonTableExpr', 'List',
  'A_ArrayExpr', 'A_Indirection', 'A_Indices', 'RowExpr', 'SQLValueFunction', 'GroupingSet',
  'GroupingFunc', 'CollateClause', 'ColumnDef', 'Alias', 'CTESearchClause', 'CTECycleClause',
]);

/** CURRENT_DATE and friends are harmless; CURRENT_USER, SESSION_USER and the like describe the session. */
const ALLOWED_SQL_VALUE_FUNCTIONS = /^SVFOP_(CURRENT_DATE|CURRENT_TIME|CURRENT_TIME_N|CURRENT_TIMESTAMP|CURRENT_TIMESTAMP_N|LOCALTIME|LOCALTIME_N|LOCALTIMESTAMP|LOCALTIMESTAMP_N)$/;

/** Object-identifier types look names up in the system catalogs when cast to: '…'::regclass. */
const CATALOG_LOOKUP_TYPES = /^reg[a-z]*$/;

const STATEMENT_NAMES: Record<string, string> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
};

type Json = Record<string, unknown>;

class Refusal extends Error {}

const refuse = (reason: string): never => {
  throw new Refusal(reason);
};

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The names in a parser name list ([{String: {sval}}, …]). */
function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => (isObject(item) && isObject(item.String) ? String(item.String.sval ?? '') : '*'));
}

function statementName(type: string): string {
  return STATEMENT_NAMES[type] ?? type.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

/** Schema qualifiers are refused everywhere except pg_catalog, which the parser itself writes for SQL-syntax functions. */
function unqualified(parts: string[], what: string): string {
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 2 && parts[0] === 'pg_catalog') return parts[1]!;
  return refuse(`${what} "${parts.join('.')}" is schema-qualified; only unqualified names are allowed`);
}

function checkTypeName(typeName: unknown): void {
  if (!isObject(typeName)) return;
  const type = unqualified(names(typeName.names), 'type');
  if (CATALOG_LOOKUP_TYPES.test(type)) refuse(`casts to ${type} look up the system catalogs and are not allowed`);
}

interface Walk {
  cteNames: Set<string>;
  knownTables?: Set<string>;
  tables: string[];
}

/** Checks one tagged node; returns nothing, throws a Refusal. */
function checkNode(type: string, node: Json, walk: Walk): void {
  if (type.endsWith('Stmt') && type !== 'SelectStmt') {
    refuse(`only SELECT is allowed; found ${statementName(type)} inside the query (data-modifying WITH clauses are refused)`);
  }
  if (!ALLOWED_NODES.has(type)) {
    refuse(type === 'ParamRef' ? 'query parameters ($1) are not supported' : `the construct ${type} is not allowed in a read-only query`);
  }
  switch (type) {
    case 'RangeVar': {
      const name = String(node.relname ?? '');
      if (node.catalogname || node.schemaname) {
        const qualified = [node.catalogname, node.schemaname, name].filter(Boolean).join('.');
        refuse(`table "${qualified}" is schema-qualified; only the tenant's own tables, unqualified, may be read`);
      }
      if (walk.cteNames.has(name)) return;
      if (/^pg_/i.test(name) || name === 'information_schema') refuse(`system catalog "${name}" may not be read`);
      if (walk.knownTables && !walk.knownTables.has(name)) {
        refuse(`unknown table "${name}"; the tables are: ${[...walk.knownTables].sort().join(', ')}`);
      }
      if (!walk.tables.includes(name)) walk.tables.push(name);
      return;
    }
    case 'FuncCall': {
      const name = unqualified(names(node.funcname), 'function');
      if (!ALLOWED_FUNCTIONS.has(name)) refuse(`function ${name}() is not allowed; only common built-in functions may be called`);
      return;
    }
    case 'SQLValueFunction': {
      const op = String(node.op ?? '');
      if (!ALLOWED_SQL_VALUE_FUNCTIONS.test(op)) refuse(`${op.replace(/^SVFOP_/, '').replace(/_N$/, '')} is not allowed`);
      return;
    }
    case 'A_Expr':
      unqualified(names(node.name), 'operator');
      return;
    case 'ColumnRef':
      if (Array.isArray(node.fields) && node.fields.length > 2) {
        refuse(`column reference "${names(node.fields).join('.')}" is schema-qualified; use table.column or column`);
      }
      return;
    case 'TypeCast':
    case 'ColumnDef':
      checkTypeName(node.typeName);
      return;
    case 'RangeTableSample': {
      const method = unqualified(names(node.method), 'sampling method');
      if (method !== 'bernoulli' && method !== 'system') refuse(`TABLESAMPLE ${method} is not allowed`);
      return;
    }
  }
}

function visit(value: unknown, walk: Walk): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, walk);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    // The parser omits empty fields, so the mere presence of these means SELECT … INTO or FOR UPDATE.
    if (key === 'intoClause') refuse('SELECT … INTO creates a table and is not allowed');
    if (key === 'lockingClause') refuse('locking clauses (FOR UPDATE / FOR SHARE) are not allowed');
    if (/^[A-Z]/.test(key) && isObject(child)) checkNode(key, child, walk);
    visit(child, walk);
  }
}

/** Every CTE name in the tree: a reference to one is not a table read. */
function collectCteNames(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => collectCteNames(v, into));
  else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'CommonTableExpr' && isObject(child) && typeof child.ctename === 'string') into.add(child.ctename);
      collectCteNames(child, into);
    }
  }
  return into;
}

/** The text of the parsed statement; parser locations are UTF-8 byte offsets. */
function statementText(sql: string, stmt: { stmt_location?: number; stmt_len?: number }): string {
  const bytes = Buffer.from(sql, 'utf8');
  const start = stmt.stmt_location ?? 0;
  const end = stmt.stmt_len ? start + stmt.stmt_len : bytes.length;
  return bytes.subarray(start, end).toString('utf8').trim();
}

/**
 * Accept `sql` only if PostgreSQL's own parser reads it as exactly one read-only SELECT over
 * the tenant's unqualified tables that calls only allow-listed functions. Never throws for bad
 * SQL: the verdict carries a reason a person (or the model, for a repair) can act on.
 */
export async function checkReadOnlySql(sql: string, opts: SqlGuardOptions = {}): Promise<SqlVerdict> {
  if (!sql.trim()) return { ok: false, reason: 'the query is empty' };
  let tree: Awaited<ReturnType<typeof parse>>;
  try {
    tree = await parse(sql);
  } catch (err) {
    return { ok: false, reason: `not valid PostgreSQL: ${err instanceof Error ? err.message : String(err)}` };
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length !== 1) return { ok: false, reason: `expected exactly one statement, found ${stmts.length}` };
  const stmt = stmts[0]!;
  const node = (stmt.stmt ?? {}) as Json;
  const [type] = Object.keys(node);
  if (type !== 'SelectStmt') return { ok: false, reason: `only SELECT is allowed; found ${type ? statementName(type) : 'an empty statement'}` };

  const walk: Walk = {
    cteNames: collectCteNames(node),
    knownTables: opts.knownTables ? new Set(opts.knownTables) : undefined,
    tables: [],
  };
  try {
    visit(node, walk);
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, reason: err.message };
    throw err;
  }
  return { ok: true, sql: statementText(sql, stmt), tables: walk.tables };
}
