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
import { checkCallBounds, checkWindowFrame, numericLiteral, regexProblem, REGEX_OPERATORS, stringLiteral } from './sql-bounds.js';

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
  'GroupingFunc', 'CollateClause', 'ColumnDef', 'Alias',
]);

/** CURRENT_DATE and friends are harmless; CURRENT_USER, SESSION_USER and the like describe the session. */
const ALLOWED_SQL_VALUE_FUNCTIONS = /^SVFOP_(CURRENT_DATE|CURRENT_TIME|CURRENT_TIME_N|CURRENT_TIMESTAMP|CURRENT_TIMESTAMP_N|LOCALTIME|LOCALTIME_N|LOCALTIMESTAMP|LOCALTIMESTAMP_N)$/;

/**
 * Types a query may cast to or declare, by the names the parser writes (integer is int4).
 * An allow-list because the dangerous ones come in many spellings: the reg* types look names up
 * in the catalogs ('tenant_b.customers'::regclass tells whether another tenant's table exists),
 * each has an array twin (_regclass, regclass[]), every catalog table is a composite type
 * (NULL::pg_authid), and jsonpath and xml bring their own evaluators.
 */
const ALLOWED_TYPES: ReadonlySet<string> = new Set([
  'bool', 'boolean', 'int2', 'int4', 'int8', 'smallint', 'integer', 'bigint', 'int', 'numeric', 'decimal', 'float4', 'float8',
  'real', 'text', 'varchar', 'bpchar', 'char', 'date', 'time', 'timetz', 'timestamp', 'timestamptz', 'interval', 'json',
  'jsonb', 'uuid', 'bytea', 'money',
]);

/** Type modifiers (numeric(10, 2), varchar(255)): char(10485760) pads every value to 10 MB. */
const MAX_TYPE_MODIFIER = 1_000;

/** Operators by name: comparison, arithmetic, text, JSON and array ones. Not @@ or @? (text search, jsonpath). */
const ALLOWED_OPERATORS: ReadonlySet<string> = new Set([
  '=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '^', '|/', '||/', '@', '&', '|', '#', '~', '<<', '>>',
  '||', '~~', '!~~', '~~*', '!~~*', '~*', '!~', '!~*', '->', '->>', '#>', '#>>', '@>', '<@', '?', '?|', '?&', '&&', '#-',
  // the names the parser gives BETWEEN forms
  'BETWEEN', 'NOT BETWEEN', 'BETWEEN SYMMETRIC', 'NOT BETWEEN SYMMETRIC',
]);

/** Longer model-written SQL is not an analytical question; it bounds every literal in it, too. */
export const MAX_SQL_LENGTH = 8_000;

/**
 * Operations that build a bigger value out of several: concatenations, padding, rewrites,
 * constructors and accumulating aggregates. Each is linear in its inputs, but chained through
 * CTEs or subqueries (s || s in each of six CTEs) they multiply: 10^6 times a 1 kB literal.
 * So values are built in one SELECT of a query only.
 */
const BUILDING_FUNCTIONS: ReadonlySet<string> = new Set([
  'concat', 'concat_ws', 'format', 'lpad', 'rpad', 'replace', 'regexp_replace', 'overlay', 'string_agg', 'array_agg',
  'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'json_build_object', 'jsonb_build_object',
  'json_build_array', 'jsonb_build_array', 'to_json', 'to_jsonb', 'row_to_json',
]);

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

/** Catalog names: pg_* (any case: "PG_AUTHID" is not pg_authid, but nothing honest is called that) and information_schema. */
const isCatalogName = (name: string) => /^pg_/i.test(name) || /^information_schema$/i.test(name);

function checkTypeName(typeName: Json): void {
  if (typeName.pct_type) refuse('%TYPE references are not allowed');
  const type = unqualified(names(typeName.names), 'type');
  if (/^_?reg/i.test(type) || isCatalogName(type.replace(/^_/, ''))) refuse(`casts to ${type} look up the system catalogs and are not allowed`);
  if (!ALLOWED_TYPES.has(type)) refuse(`the type ${type} is not allowed; use one of: ${[...ALLOWED_TYPES].join(', ')}`);
  // interval's modifiers are field masks (HOUR TO SECOND), not lengths.
  for (const mod of type === 'interval' || !Array.isArray(typeName.typmods) ? [] : typeName.typmods) {
    const n = numericLiteral(mod);
    if (n === undefined || n > MAX_TYPE_MODIFIER) refuse(`type modifiers must be number literals up to ${MAX_TYPE_MODIFIER}`);
  }
}

/** The CTE names visible at a point: the WITH of this SELECT, then the enclosing ones. */
interface Scope {
  ctes: ReadonlySet<string>;
  parent?: Scope;
}

function visible(scope: Scope | undefined, name: string): boolean {
  for (let s = scope; s; s = s.parent) if (s.ctes.has(name)) return true;
  return false;
}

interface Walk {
  knownTables?: Set<string>;
  tables: string[];
  /** The SELECTs (as objects) that build values; more than one is refused. */
  building: Set<Json>;
}

/** Checks one tagged node; returns nothing, throws a Refusal. */
function checkNode(type: string, node: Json, walk: Walk, scope: Scope | undefined, select: Json | undefined): void {
  if (type.endsWith('Stmt') && type !== 'SelectStmt') {
    refuse(`only SELECT is allowed; found ${statementName(type)} inside the query (data-modifying WITH clauses are refused)`);
  }
  if (!ALLOWED_NODES.has(type)) {
    refuse(type === 'ParamRef' ? 'query parameters ($1) are not supported' : `the construct ${type} is not allowed in a read-only query`);
  }
  const builds = () => select && walk.building.add(select);
  switch (type) {
    case 'RangeVar': {
      const name = String(node.relname ?? '');
      if (node.catalogname || node.schemaname) {
        const qualified = [node.catalogname, node.schemaname, name].filter(Boolean).join('.');
        refuse(`table "${qualified}" is schema-qualified; only the tenant's own tables, unqualified, may be read`);
      }
      // Only a CTE in scope here: a WITH elsewhere in the tree does not hide the catalog of that name.
      if (visible(scope, name)) return;
      if (isCatalogName(name)) refuse(`system catalog "${name}" may not be read`);
      if (walk.knownTables && !walk.knownTables.has(name)) {
        refuse(`unknown table "${name}"; the tables are: ${[...walk.knownTables].sort().join(', ')}`);
      }
      if (!walk.tables.includes(name)) walk.tables.push(name);
      return;
    }
    case 'FuncCall': {
      const name = unqualified(names(node.funcname), 'function');
      if (!ALLOWED_FUNCTIONS.has(name)) refuse(`function ${name}() is not allowed; only common built-in functions may be called`);
      checkCallBounds(name, node, refuse);
      if (BUILDING_FUNCTIONS.has(name)) builds();
      return;
    }
    case 'SQLValueFunction': {
      const op = String(node.op ?? '');
      if (!ALLOWED_SQL_VALUE_FUNCTIONS.test(op)) refuse(`${op.replace(/^SVFOP_/, '').replace(/_N$/, '')} is not allowed`);
      return;
    }
    case 'A_Expr': {
      const op = unqualified(names(node.name), 'operator');
      if (!ALLOWED_OPERATORS.has(op)) refuse(`the operator ${op} is not allowed`);
      // ~ alone is also bitwise NOT (no left operand); with one it is a regular-expression match.
      if (REGEX_OPERATORS.has(op) && node.lexpr && node.kind !== 'AEXPR_SIMILAR') {
        const pattern = stringLiteral(node.rexpr);
        if (pattern === undefined) refuse(`the ${op} operator takes a literal pattern`);
        const problem = regexProblem(pattern!);
        if (problem) refuse(problem);
      }
      if (op === '||') builds();
      return;
    }
    case 'A_ArrayExpr':
    case 'RowExpr':
      builds();
      return;
    case 'ColumnRef': {
      const fields = names(node.fields);
      if (fields.length > 2) refuse(`column reference "${fields.join('.')}" is schema-qualified; use table.column or column`);
      // t.f is also f(t) when t has no column f: keep catalog functions out of that spelling too.
      if (fields.some(isCatalogName)) refuse(`"${fields.join('.')}" names a system catalog or function`);
      return;
    }
    case 'WindowDef':
      checkWindowFrame(node, refuse);
      return;
    case 'RangeTableSample': {
      const method = unqualified(names(node.method), 'sampling method');
      if (method !== 'bernoulli' && method !== 'system') refuse(`TABLESAMPLE ${method} is not allowed`);
      return;
    }
  }
}

/**
 * Walks the tree with the CTE names in scope. A SELECT's WITH is visible in its own body and,
 * for a set operation (UNION …), in both arms, which the parser hangs under the SELECT that
 * holds the WITH (larg, rarg: untagged SELECTs). A WITH inside a parenthesised arm, a subquery
 * or a CTE is visible only there. A non-recursive CTE sees the CTEs before it, not itself.
 */
function visit(value: unknown, walk: Walk, scope: Scope | undefined, select: Json | undefined): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, walk, scope, select);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    // The parser omits empty fields, so the mere presence of these means SELECT … INTO or FOR UPDATE.
    if (key === 'intoClause') refuse('SELECT … INTO creates a table and is not allowed');
    if (key === 'lockingClause') refuse('locking clauses (FOR UPDATE / FOR SHARE) are not allowed');
    if (!isObject(child)) {
      visit(child, walk, scope, select);
      continue;
    }
    if (key === 'typeName' || key === 'TypeName') checkTypeName(child);
    // A window written inline (OVER (…)) is an untagged WindowDef; named ones are tagged.
    if (key === 'over') checkWindowFrame(child, refuse);
    if (key === 'SelectStmt' || key === 'larg' || key === 'rarg') {
      checkNode('SelectStmt', child, walk, scope, select);
      // The arms of a set operation feed its result, not each other: they build as one SELECT.
      visitSelect(child, walk, scope, key === 'SelectStmt' ? child : select);
      continue;
    }
    if (/^[A-Z]/.test(key)) checkNode(key, child, walk, scope, select);
    visit(child, walk, scope, select);
  }
}

function visitSelect(select: Json, walk: Walk, outer: Scope | undefined, builder: Json | undefined): void {
  let scope = outer;
  const withClause = select.withClause;
  if (isObject(withClause)) {
    // A recursive CTE's row count is invisible to the planner (it costs the probe's ten
    // million rows at 3.35) and PGlite cannot stop it once it runs.
    if (withClause.recursive) refuse('WITH RECURSIVE is not allowed: the planner cannot bound how long a recursion runs; use generate_series() for a sequence');
    const ctes = new Set<string>();
    for (const item of Array.isArray(withClause.ctes) ? withClause.ctes : []) {
      const cte = isObject(item) && isObject(item.CommonTableExpr) ? item.CommonTableExpr : refuse('a WITH clause must hold common table expressions');
      const name = String(cte.ctename ?? '');
      if (isCatalogName(name)) refuse(`a WITH query may not be named like a system catalog ("${name}")`);
      if (walk.knownTables?.has(name)) refuse(`a WITH query may not be named like the table "${name}"; choose another name`);
      const { ctequery, ...rest } = cte;
      visit(rest, walk, { ctes: new Set(ctes), parent: outer }, builder);
      visit({ SelectStmt: ctequery }, walk, { ctes: new Set(ctes), parent: outer }, builder);
      ctes.add(name);
    }
    scope = { ctes, parent: outer };
  }
  const { withClause: _with, ...body } = select;
  visit(body, walk, scope, builder);
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
  if (sql.length > MAX_SQL_LENGTH) return { ok: false, reason: `the query is longer than ${MAX_SQL_LENGTH} characters` };
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

  const walk: Walk = { knownTables: opts.knownTables ? new Set(opts.knownTables) : undefined, tables: [], building: new Set() };
  try {
    visit({ SelectStmt: node.SelectStmt }, walk, undefined, undefined);
    if (walk.building.size > 1) {
      refuse('values may be built (||, concat, format, lpad, replace, string_agg, array_agg, json_agg, ARRAY[…], ROW(…)) in one SELECT of the query only: a value built from an already built one can grow without bound; build it where the rows are aggregated');
    }
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, reason: err.message };
    throw err;
  }
  return { ok: true, sql: statementText(sql, stmt), tables: walk.tables };
}
