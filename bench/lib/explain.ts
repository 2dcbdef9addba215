// The plan the product's own SQL gets: run a product call against a Db whose matching
// statement is EXPLAINed instead of executed (same text, parameters, session settings and
// transaction), so a benchmark can say which plan it timed without copying the SQL.
import type { Db } from '../../infra/db/pool.js';

type Queryable = { query: (...args: unknown[]) => Promise<unknown> };

/**
 * Calls `call` with a Db that EXPLAINs (with `options`, e.g. 'ANALYZE, BUFFERS') the first
 * statement matching `match` and returns no rows for it; everything else runs as usual.
 * Returns the plan text, with vector literals shortened to `'[…]'::vector`.
 */
export async function planOf(db: Db, match: RegExp, call: (db: Db) => Promise<unknown>, options = ''): Promise<string> {
  let plan: string | undefined;
  const wrap = (target: Queryable) => async (text: unknown, params?: unknown) => {
    if (plan === undefined && typeof text === 'string' && match.test(text)) {
      const res = (await target.query(`EXPLAIN ${options ? `(${options}) ` : ''}${text}`, params)) as { rows: Array<Record<string, string>> };
      plan = res.rows.map((r) => r['QUERY PLAN']).join('\n');
      return { rows: [], rowCount: 0 };
    }
    return target.query(text, params);
  };
  const bindAll = <T extends object>(target: T, overrides: Record<string | symbol, unknown>): T =>
    new Proxy(target, {
      get(t, p) {
        if (p in overrides) return overrides[p];
        const v = Reflect.get(t, p) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  const proxied = bindAll(db, {
    query: wrap(db as unknown as Queryable),
    connect: async () => {
      const client = await db.connect();
      return bindAll(client, { query: wrap(client as unknown as Queryable) });
    },
  });
  await call(proxied);
  if (plan === undefined) throw new Error(`no statement matched ${match}`);
  return plan.replace(/'\[[^\]]*\]'::vector/g, "'[…]'::vector");
}

/** One line for a report: how the plan finds the nearest vectors. */
export function vectorAccess(plan: string): string {
  if (/Index Scan using chunks_embedding_idx/.test(plan)) return 'HNSW index scan';
  if (/Seq Scan on chunks/.test(plan)) return 'seq scan + sort';
  if (/Bitmap Heap Scan on chunks|Index Scan using \w+ on chunks/.test(plan)) return 'other index + sort';
  return 'other';
}
