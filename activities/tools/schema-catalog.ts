// What text-to-SQL shows the model about a tenant's tables: names, comments, columns, keys,
// read from pg_catalog (the tables the tenant's reader role may SELECT, nothing else), cached
// per tenant for a minute. When a schema has more tables than a prompt should carry, the
// question picks them: embedding similarity plus shared words, then every table the picked
// ones reference by foreign key, so the joins the model needs are always on the page.
import { countTokens } from '../tokens.js';
import type { Db } from '../../infra/db/pool.js';
import { tenantReaderRole, tenantSchema } from '../../infra/db/tenant-schema.js';
import type { SqlTableSummary } from '../gateway/types.js';
import { contentTerms } from '../text.js';
import type { Embedder } from '../retrieval/embeddings.js';

export interface ForeignKey {
  columns: string[];
  table: string;
  refColumns: string[];
}

export interface CatalogTable extends SqlTableSummary {
  primaryKey: string[];
  foreignKeys: ForeignKey[];
}

export interface SchemaCatalog {
  tenantId: string;
  tables: CatalogTable[];
  /** Summary embeddings by embedder id, computed once per cached catalog. */
  embeddings: Map<string, Float32Array[]>;
}

/** Long enough to spare the catalog queries on every question, short enough that new tables show up soon. */
export const CATALOG_TTL_MS = 60_000;

const cache = new WeakMap<Db, Map<string, { expires: number; catalog: Promise<SchemaCatalog> }>>();

/** The tenant's readable tables, from a per-tenant cache of about a minute. */
export function loadSchemaCatalog(db: Db, tenantId: string, now = Date.now()): Promise<SchemaCatalog> {
  let byTenant = cache.get(db);
  if (!byTenant) cache.set(db, (byTenant = new Map()));
  const hit = byTenant.get(tenantId);
  if (hit && hit.expires > now) return hit.catalog;
  // The promise is cached, so concurrent questions share one read; a failed read is not kept.
  const catalog = readSchemaCatalog(db, tenantId).catch((err: unknown) => {
    if (byTenant.get(tenantId)?.catalog === catalog) byTenant.delete(tenantId);
    throw err;
  });
  byTenant.set(tenantId, { expires: now + CATALOG_TTL_MS, catalog });
  return catalog;
}

/** Drop a tenant's cached catalog, e.g. right after changing its tables. */
export function forgetSchemaCatalog(db: Db, tenantId: string): void {
  cache.get(db)?.delete(tenantId);
}

/** Read the catalog now, bypassing the cache. */
export async function readSchemaCatalog(db: Db, tenantId: string): Promise<SchemaCatalog> {
  const schema = tenantSchema(tenantId);
  const role = tenantReaderRole(tenantId);
  // has_table_privilege fails on a role that does not exist; a tenant without one has nothing to read.
  const { rowCount: roles } = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (!roles) return { tenantId, tables: [], embeddings: new Map() };
  const { rows: columns } = await db.query<{ table: string; description: string | null; column: string; type: string }>(
    `SELECT c.relname AS table, obj_description(c.oid, 'pg_class') AS description,
            a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND has_table_privilege($2, c.oid, 'SELECT')
     ORDER BY c.relname, a.attnum`,
    [schema, role],
  );
  const { rows: keys } = await db.query<{ table: string; kind: 'p' | 'f'; columns: string[]; ref_table: string | null; ref_columns: string[] | null }>(
    `SELECT src.relname AS table, k.contype AS kind,
            ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(num, i)
                  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.i) AS columns,
            dst.relname AS ref_table,
            CASE WHEN k.contype = 'f' THEN
              ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u(num, i)
                    JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num ORDER BY u.i)
            END AS ref_columns
     FROM pg_constraint k
     JOIN pg_class src ON src.oid = k.conrelid
     JOIN pg_namespace n ON n.oid = src.relnamespace
     LEFT JOIN pg_class dst ON dst.oid = k.confrelid
     WHERE n.nspname = $1 AND k.contype IN ('p', 'f')
       AND (k.contype = 'p' OR dst.relnamespace = src.relnamespace)
     ORDER BY src.relname, k.conname`,
    [schema],
  );

  const tables = new Map<string, CatalogTable>();
  for (const row of columns) {
    let table = tables.get(row.table);
    if (!table) {
      table = { name: row.table, description: row.description ?? '', columns: [], primaryKey: [], foreignKeys: [] };
      tables.set(row.table, table);
    }
    table.columns.push({ name: row.column, type: row.type });
  }
  for (const key of keys) {
    const table = tables.get(key.table);
    if (!table) continue;
    if (key.kind === 'p') table.primaryKey = key.columns;
    // A reference to a table the role cannot read would only invite a query that fails.
    else if (key.ref_table && tables.has(key.ref_table)) {
      table.foreignKeys.push({ columns: key.columns, table: key.ref_table, refColumns: key.ref_columns ?? [] });
    }
  }
  return { tenantId, tables: [...tables.values()], embeddings: new Map() };
}

/**
 * One table as the prompt shows it:
 *   orders: One row per order: …
 *     id integer primary key, customer_id integer references customers(id), …
 */
export function describeTable(table: CatalogTable): string {
  const columns = table.columns.map((c) => {
    const pk = table.primaryKey.length === 1 && table.primaryKey[0] === c.name ? ' primary key' : '';
    const fk = table.foreignKeys.find((k) => k.columns.length === 1 && k.columns[0] === c.name);
    return `${c.name} ${c.type}${pk}${fk ? ` references ${fk.table}(${fk.refColumns.join(', ')})` : ''}`;
  });
  const composite = table.foreignKeys
    .filter((k) => k.columns.length > 1)
    .map((k) => `(${k.columns.join(', ')}) references ${k.table}(${k.refColumns.join(', ')})`);
  const head = table.description ? `${table.name}: ${table.description}` : table.name;
  return `${head}\n  ${[...columns, ...composite].join(', ')}`;
}

/** Words for lexical matching: "customer_id" counts as "customer" and "id". */
function terms(...texts: string[]): Set<string> {
  return new Set(contentTerms(texts.join(' ').replaceAll('_', ' ')));
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

async function summaryEmbeddings(catalog: SchemaCatalog, embedder: Embedder): Promise<Float32Array[]> {
  let vectors = catalog.embeddings.get(embedder.id);
  if (!vectors) {
    vectors = await embedder.embed(catalog.tables.map(describeTable), 'document');
    catalog.embeddings.set(embedder.id, vectors);
  }
  return vectors;
}

export interface TableSelectionOptions {
  /** Show every table when there are at most this many (and they fit the budget). Default 8. */
  maxTables?: number;
  /** Prompt tokens the table summaries may take. Default 2000. */
  tokenBudget?: number;
}

export interface ScoredTable {
  table: CatalogTable;
  score: number;
}

/**
 * Every table scored against the question, best first: 0.6 × cosine similarity + 0.4 × the
 * share of the question's words the table has, where a word in the table's name counts twice
 * (a table is about what it is called: "order" says more in `orders` than in `refunds.order_id`).
 */
export async function rankTables(catalog: SchemaCatalog, question: string, embedder?: Embedder): Promise<ScoredTable[]> {
  const asked = [...terms(question)];
  const lexical = catalog.tables.map((t) => {
    const name = terms(t.name);
    const all = terms(t.name, t.description, ...t.columns.map((c) => c.name));
    const hits = asked.reduce((n, w) => n + (name.has(w) ? 1 : 0) + (all.has(w) ? 1 : 0), 0);
    return asked.length ? hits / (2 * asked.length) : 0;
  });
  let semantic: number[] | undefined;
  if (embedder) {
    const [vectors, [q]] = await Promise.all([summaryEmbeddings(catalog, embedder), embedder.embed([question], 'query')]);
    semantic = vectors.map((v) => dot(q!, v));
  }
  return catalog.tables
    .map((table, i) => ({ table, score: semantic ? 0.6 * semantic[i]! + 0.4 * lexical[i]! : lexical[i]! }))
    .sort((a, b) => b.score - a.score || a.table.name.localeCompare(b.table.name));
}

/** Tables scoring under this share of the best one are left out: they would only be noise. */
const RELATIVE_CUTOFF = 0.5;

/**
 * The tables to show the model for this question: all of them when they fit; else the best
 * ranked (up to `maxTables` and the token budget, none under half the best score), plus, always,
 * every table those reference by foreign key, transitively, so their joins can be written.
 */
export async function selectTables(
  catalog: SchemaCatalog,
  question: string,
  embedder?: Embedder,
  opts: TableSelectionOptions = {},
): Promise<CatalogTable[]> {
  const maxTables = opts.maxTables ?? 8;
  const budget = opts.tokenBudget ?? 2000;
  const tokens = new Map(catalog.tables.map((t) => [t.name, countTokens(describeTable(t))]));
  const total = [...tokens.values()].reduce((a, b) => a + b, 0);
  if (catalog.tables.length <= maxTables && total <= budget) return catalog.tables;

  const byName = new Map(catalog.tables.map((t) => [t.name, t]));
  const chosen: CatalogTable[] = [];
  let used = 0;
  const ranked = await rankTables(catalog, question, embedder);
  // With nothing scoring above zero there is no signal to cut on; the cap alone applies.
  const floor = ranked[0]!.score > 0 ? ranked[0]!.score * RELATIVE_CUTOFF : -Infinity;
  for (const { table, score } of ranked) {
    if (chosen.length >= maxTables || score < floor) break;
    const cost = tokens.get(table.name)!;
    // The best table is shown even if it alone is over budget: without it there is no query.
    if (chosen.length > 0 && used + cost > budget) continue;
    chosen.push(table);
    used += cost;
  }
  for (let i = 0; i < chosen.length; i++) {
    for (const key of chosen[i]!.foreignKeys) {
      const target = byName.get(key.table);
      if (target && !chosen.includes(target)) chosen.push(target);
    }
  }
  return chosen;
}
