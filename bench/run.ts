// `npm run bench [-- name ...]`: runs the benchmarks (all by default), each with its baseline
// measured side by side in the same run, and writes bench/results/REPORT.md plus one JSON
// file per benchmark. Benchmarks are not tests: they measure, and the report says where a
// target is met or missed and by how much.
import { cpus, totalmem } from 'node:os';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchContext } from './lib/bench.js';

const BENCHES: Record<string, () => Promise<{ run: Bench }>> = {
  ingest: () => import('./ingest-throughput.js'),
  latency: () => import('./query-latency.js'),
  orchestration: () => import('./orchestration.js'),
  quality: () => import('./retrieval-quality.js'),
  // The agent benchmarks come last so the report keeps its (a), (b), … order.
  agents: () => import('./agent-loop.js'),
  approvals: () => import('./agent-approvals.js'),
  guardrails: () => import('./guardrails.js'),
  'sql-guard-corpus': () => import('./sql-guard-corpus.js'),
  fuzz: () => import('./fuzz.js'),
  gateway: () => import('./gateway/index.js'),
  cache: () => import('./cache/index.js'),
  observability: () => import('./observability/index.js'),
};

const RESULTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

async function main() {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = wanted.length ? wanted : Object.keys(BENCHES);
  for (const n of names) if (!BENCHES[n]) throw new Error(`unknown benchmark "${n}" (known: ${Object.keys(BENCHES).join(', ')})`);
  await mkdir(RESULTS, { recursive: true });
  const ctx: BenchContext = { log: (m) => process.stderr.write(`[bench] ${m}\n`) };
  for (const name of names) {
    ctx.log(`running ${name}`);
    const t0 = performance.now();
    const { run } = await BENCHES[name]!();
    const result = await run(ctx);
    const seconds = (performance.now() - t0) / 1000;
    const section = `## ${result.title}\n\n_Run ${new Date().toISOString()} in ${seconds.toFixed(0)} s — \`npm run bench -- ${name}\`_\n\n${result.markdown.trim()}\n`;
    await writeFile(path.join(RESULTS, `${name}.md`), section);
    await writeFile(path.join(RESULTS, `${name}.json`), `${JSON.stringify(result.data, null, 2)}\n`);
    ctx.log(`${name} done in ${seconds.toFixed(0)} s`);
  }
  await writeReport();
}

/** REPORT.md: the machine, then every benchmark's latest section, in a fixed order. */
async function writeReport() {
  const sections: string[] = [];
  for (const name of Object.keys(BENCHES)) {
    try {
      sections.push(await readFile(path.join(RESULTS, `${name}.md`), 'utf8'));
    } catch {
      sections.push(`## ${name}\n\n_Not run yet: \`npm run bench -- ${name}\`._\n`);
    }
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
  const header = `# Gatehouse benchmark report\n\nMachine: ${machine}.\nEach benchmark measures its baseline side by side in the same run; ratios compare the two.\nRegenerate with \`npm run bench\` (all) or \`npm run bench -- <name>\` (one; the report keeps the others' latest sections).\n`;
  await writeFile(path.join(RESULTS, 'REPORT.md'), `${header}\n${sections.join('\n')}`);
}

await main();
