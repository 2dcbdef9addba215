// `npm run eval [-- --ci | --update | suite ...]`: runs the labeled evaluations (eval/suites/),
// compares each metric with the committed baseline (eval/results/baseline.json) within its
// tolerance (eval/tolerances.ts), prints the table, writes eval/results/latest.json, and exits 1
// on a regression. `--ci` runs the CI subset; `--update` makes this run the baseline (for the
// suites it ran; the others' rows are kept).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Embedder } from '../activities/retrieval/embedder.js';
import { loadLocalEmbedder } from '../activities/retrieval/local-embedder.js';
import { loadConfig } from '../infra/config.js';
import { compareResults, passed } from './compare.js';
import { recordMetrics, updatedBaseline, type EvalResults } from './results.js';
import type { EvalContext } from './suite.js';
import { SUITES } from './suites/index.js';
import { formatComparison } from './table.js';
import { TOLERANCES } from './tolerances.js';

const RESULTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const BASELINE = path.join(RESULTS, 'baseline.json');
const LATEST = path.join(RESULTS, 'latest.json');

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { ci: { type: 'boolean', default: false }, update: { type: 'boolean', default: false } }, allowPositionals: true });
  const unknown = positionals.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length) {
    process.stderr.write(`unknown suite ${unknown.join(', ')} (known: ${SUITES.map((s) => s.name).join(', ')})\n`);
    return 2;
  }
  const log = (m: string) => process.stderr.write(`[eval] ${m}\n`);
  const unset = (s: (typeof SUITES)[number]) => (s.requires ?? []).filter((v) => !process.env[v]);
  const named = SUITES.filter((s) => positionals.includes(s.name) && unset(s).length);
  if (named.length) {
    process.stderr.write(named.map((s) => `suite ${s.name} reads its data from ${unset(s).join(' and ')}: set them\n`).join(''));
    return 2;
  }
  const suites = SUITES.filter((s) => (positionals.length ? positionals.includes(s.name) : !values.ci || s.ci)).filter((s) => {
    if (!unset(s).length) return true;
    log(`${s.name}: skipped (${unset(s).join(', ')} not set)`);
    return false;
  });
  let model: Promise<Embedder> | undefined;
  const ctx: EvalContext = {
    log,
    embedder: () => (model ??= loadLocalEmbedder(loadConfig({ EMBEDDING_PROVIDER: 'local' }).embedding, log)),
  };

  const current: EvalResults = { metrics: {} };
  const runs: Array<{ suite: string; title: string; seconds: number }> = [];
  const details: Record<string, unknown> = {};
  try {
    for (const suite of suites) {
      log(`${suite.name}: ${suite.title}`);
      const t0 = performance.now();
      const result = await suite.run(ctx);
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      Object.assign(current.metrics, recordMetrics(suite.name, result));
      runs.push({ suite: suite.name, title: suite.title, seconds });
      details[suite.name] = result.details;
      log(`${suite.name} done in ${seconds} s`);
    }
  } finally {
    await (await model)?.close?.();
  }

  const baseline = await readBaseline();
  const names = suites.map((s) => s.name);
  const rows = compareResults(baseline, current, names);
  process.stdout.write(`${formatComparison(rows)}\n\n`);
  await mkdir(RESULTS, { recursive: true });
  await writeFile(LATEST, `${JSON.stringify({ ...current, runs, comparison: rows, details }, null, 2)}\n`);

  if (values.update) {
    await writeFile(BASELINE, `${JSON.stringify(updatedBaseline(baseline, current, names, SUITES.map((s) => s.name)), null, 2)}\n`);
    process.stdout.write(`baseline updated for ${names.join(', ')}: ${path.relative(process.cwd(), BASELINE)} (commit it with the change it records)\n`);
    return 0;
  }
  if (passed(rows)) {
    const fresh = rows.filter((r) => r.status === 'new').length;
    process.stdout.write(`eval passed: ${rows.length - fresh} metrics of ${names.join(', ')} within tolerance of the baseline${fresh ? `; ${fresh} without a baseline yet (npm run eval -- --update records them)` : ''}\n`);
    return 0;
  }
  const failed = rows.filter((r) => !r.ok);
  process.stdout.write(`eval FAILED: ${failed.map((r) => `${r.id} ${r.status}`).join('; ')}\n`);
  process.stdout.write(`tolerances (eval/tolerances.ts): ${Object.entries(TOLERANCES).map(([k, t]) => `${k} ${t.absolute}`).join(', ')}. If the change is intended, record it: npm run eval -- --update ${names.join(' ')}\n`);
  return 1;
}

async function readBaseline(): Promise<EvalResults | undefined> {
  try {
    return JSON.parse(await readFile(BASELINE, 'utf8')) as EvalResults;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

// Pools, the model and child processes are closed above; exit with the verdict, not when the loop drains.
process.exit(await main());
