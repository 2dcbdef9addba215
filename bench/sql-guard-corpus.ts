// (h) The SQL guard against the hostile corpus (test/support/hostile-sql.ts): per category, how
// many entries the guard refuses and how the accepted ones behave when run through query_sql's
// executor on PGlite and on native Postgres (time, data outside the tenant's tables, changes).
// The baseline is the guard before issue 9, measured once on the same corpus (see BEFORE).
import { checkReadOnlySql } from '../activities/tools/sql-guard.js';
import { HashingEmbedder } from '../activities/retrieval/embeddings.js';
import { seedDemoDomain } from '../infra/demo/domain.js';
import { HOSTILE_CATEGORIES, HOSTILE_SQL, type HostileCategory } from '../test/support/hostile-sql.js';
import { CORPUS_WALL_LIMIT_MS, corpusSql, runAccepted, type CorpusRun } from '../test/support/hostile-sql-run.js';
import { startBenchDatabase, type BenchDatabase } from './lib/databases.js';
import { fmt, table } from './lib/stats.js';
import type { Bench } from './lib/bench.js';

const KNOWN_TABLES = ['customers', 'orders', 'products', 'refunds'];

/**
 * Entries per category that passed the guard as it was before issue 9 (commit f7c0ece), measured
 * by running this corpus through that sql-guard.ts (checked out from git in place of the new one)
 * before the fix: 84 of 220 passed, 66 of them hostile.
 */
const BEFORE: Record<HostileCategory, number> = {
  statements: 2, writes: 0, locking: 0, session: 0, sleep: 0, 'files and links': 0, catalogs: 1, 'cte shadowing': 14,
  casts: 4, 'comments and quoting': 5, 'qualified names': 0, recursion: 4, 'row bombs': 12, 'size bombs': 10, regex: 8,
  'window bombs': 5, 'functions in FROM': 1, identity: 0, benign: 18,
};

interface Row {
  category: HostileCategory;
  count: number;
  refused: number;
  behaved: number;
  misbehaved: number;
  maxMs: Record<string, number>;
}

export const run: Bench = async (ctx) => {
  const embedder = new HashingEmbedder(384);
  const dbs: BenchDatabase[] = [];
  for (const kind of ['pglite', 'native'] as const) dbs.push(await startBenchDatabase(kind, embedder));
  const tenant = 'corpus';
  const other = 'corpus_other';
  try {
    for (const d of dbs) {
      await seedDemoDomain(d.db, tenant);
      await seedDemoDomain(d.db, other);
    }
    const rows = new Map<HostileCategory, Row>(HOSTILE_CATEGORIES.map((c) => [c, { category: c, count: 0, refused: 0, behaved: 0, misbehaved: 0, maxMs: {} }]));
    const bad: string[] = [];
    const guardMs: number[] = [];
    for (const entry of HOSTILE_SQL) {
      const row = rows.get(entry.category)!;
      row.count++;
      const t0 = performance.now();
      const verdict = await checkReadOnlySql(corpusSql(entry, other), { knownTables: KNOWN_TABLES });
      guardMs.push(performance.now() - t0);
      if (!verdict.ok) {
        row.refused++;
        continue;
      }
      const runs: Array<[BenchDatabase, CorpusRun]> = [];
      for (const d of dbs) runs.push([d, await runAccepted(d.db, verdict, tenant, other)]);
      for (const [d, r] of runs) row.maxMs[d.kind] = Math.max(row.maxMs[d.kind] ?? 0, r.ms);
      const wrong = runs.filter(([, r]) => r.misbehaved);
      if (wrong.length) {
        row.misbehaved++;
        bad.push(`${entry.category}: ${entry.label} — ${wrong.map(([d, r]) => `${d.kind}: ${r.misbehaved}`).join('; ')}`);
      } else row.behaved++;
      ctx.log(`${entry.category}: ${entry.label}: ${runs.map(([d, r]) => `${d.kind} ${r.outcome} ${Math.round(r.ms)} ms`).join(', ')}`);
    }
    const all = [...rows.values()];
    const sum = (f: (r: Row) => number) => all.reduce((n, r) => n + f(r), 0);
    const ms = (r: Row, kind: string) => (r.maxMs[kind] === undefined ? '—' : fmt(r.maxMs[kind]!, 0));
    const hostile = all.filter((r) => r.category !== 'benign');
    const markdown = [
      `${HOSTILE_SQL.length} queries (${sum((r) => (r.category === 'benign' ? 0 : r.count))} hostile, ${rows.get('benign')!.count} benign look-alikes) through \`checkReadOnlySql\` with the demo tables; each accepted one then through \`runReadOnlyQuery\` on ${dbs.map((d) => d.label).join(' and ')}. "Behaved" means: finished within ${CORPUS_WALL_LIMIT_MS} ms wall on both (on native a statement timeout of 1500 ms may cancel it: the backstop holding), returned nothing naming a catalog, a role or another tenant, and left the tenant's data and the connection's role as they were.`,
      '',
      table(
        ['category', 'count', 'passed the old guard', 'refused by guard', 'accepted, behaved', 'accepted, misbehaved', 'max ms PGlite', 'max ms native'],
        [
          ...all.map((r) => [r.category, r.count, BEFORE[r.category], r.refused, r.behaved, r.misbehaved, ms(r, 'pglite'), ms(r, 'native')]),
          ['**all**', sum((r) => r.count), sum((r) => BEFORE[r.category]), sum((r) => r.refused), sum((r) => r.behaved), sum((r) => r.misbehaved), fmt(Math.max(0, ...all.map((r) => r.maxMs.pglite ?? 0)), 0), fmt(Math.max(0, ...all.map((r) => r.maxMs.native ?? 0)), 0)],
        ],
      ),
      '',
      `Before (the guard at f7c0ece, same corpus, guard only): ${sum((r) => BEFORE[r.category])} of ${HOSTILE_SQL.length} passed, ${hostile.reduce((n, r) => n + BEFORE[r.category], 0)} of them hostile. After: ${sum((r) => r.count - r.refused)} passed, ${hostile.reduce((n, r) => n + r.count - r.refused, 0)} of them hostile; all of those ran and behaved.`,
      `Guard time per query: median ${fmt([...guardMs].sort((a, b) => a - b)[guardMs.length >> 1]!, 2)} ms.`,
      bad.length ? `\nMisbehaved:\n${bad.map((b) => `- ${b}`).join('\n')}` : '\nNone misbehaved.',
    ].join('\n');
    return { title: '(h) SQL guard: the hostile corpus', markdown, data: { rows: all, before: BEFORE, misbehaved: bad } };
  } finally {
    for (const d of dbs) await d.stop();
  }
};
