// (i) The whole API under a schema-driven fuzzer (schemathesis against /openapi.json), at the
// scale of an attacker's probe: ten thousand requests or more against the service exactly as
// `npm start` runs it (embedded Temporal dev server, PGlite, offline model), with the dev admin
// key. The baseline, side by side in the same run and with the same seed and time budget, is
// the service as it was before issue 9 (commit f7c0ece, checked out into a git worktree);
// FUZZ_BASELINE=<commit> picks another, FUZZ_BASELINE=none skips it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findTemporalCli, SCHEMATHESIS } from '../infra/tools.js';
import { runSchemathesis, type FuzzReport } from '../test/support/schemathesis.js';
import { fmt, table } from './lib/stats.js';
import type { Bench, BenchContext } from './lib/bench.js';
import { freePort } from '../test/support/free-port.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASELINE = process.env.FUZZ_BASELINE ?? 'f7c0ece';
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 320);
const SEED = 20261203;
const API_KEY = `gh_fuzz_${'k'.repeat(24)}`;
const run$ = promisify(execFile);

/** `npm start` in `root`, in a scratch data dir and on free ports; resolves once /healthz is 200. */
async function startService(root: string, dataDir: string, temporalCli: string, ctx: BenchContext): Promise<{ base: string; stop(): Promise<void> }> {
  const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['infra/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      TEMPORAL_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      TEMPORAL_CLI_PATH: temporalCli,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_API_KEY: API_KEY,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (b: Buffer) => {
    stderr.push(b.toString('utf8'));
    if (stderr.length > 50) stderr.shift();
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (ok) {
      ctx.log(`service in ${root} healthy at ${base}`);
      return { base, stop };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  await stop();
  throw new Error(`the service in ${root} did not become healthy: ${stderr.join('').slice(-2000)}`);
}

interface Measured {
  label: string;
  commit: string;
  report: FuzzReport;
}

async function fuzzService(label: string, root: string, temporalCli: string, ctx: BenchContext): Promise<Measured> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-fuzz-data-'));
  const commit = (await run$('git', ['rev-parse', '--short', 'HEAD'], { cwd: root })).stdout.trim();
  const service = await startService(root, dataDir, temporalCli, ctx);
  try {
    const report = await runSchemathesis({ baseUrl: service.base, apiKey: API_KEY, maxTimeSeconds: SECONDS, maxExamples: 100, seed: SEED, workers: 2 });
    ctx.log(`${label} (${commit}): ${JSON.stringify(report.totals)}`);
    return { label, commit, report };
  } finally {
    await service.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The baseline commit in a worktree of its own, sharing this checkout's node_modules and tools. */
async function baselineTree(scratch: string): Promise<{ root: string; remove(): Promise<void> }> {
  const root = path.join(scratch, 'baseline');
  await run$('git', ['worktree', 'add', '--detach', root, BASELINE], { cwd: ROOT });
  await symlink(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
  await symlink(path.join(ROOT, '.tools'), path.join(root, '.tools')).catch(() => undefined);
  return { root, remove: () => run$('git', ['worktree', 'remove', '--force', root], { cwd: ROOT }).then(() => undefined) };
}

const per1000 = (n: number, of: number) => (of ? (1000 * n) / of : 0);

export const run: Bench = async (ctx) => {
  const temporalCli = await findTemporalCli();
  if (!temporalCli) throw new Error('no temporal CLI: run `npx tsx scripts/setup-tools.ts temporal`');
  const measured: Measured[] = [];
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-fuzz-'));
  try {
    measured.push(await fuzzService('now', ROOT, temporalCli, ctx));
    if (BASELINE !== 'none') {
      const tree = await baselineTree(scratch);
      try {
        measured.push(await fuzzService('before issue 9', tree.root, temporalCli, ctx));
      } finally {
        await tree.remove();
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const [now, before] = measured as [Measured, Measured | undefined];
  const t = now.report.totals;
  const endpoints = Object.keys({ ...before?.report.byEndpoint, ...now.report.byEndpoint }).sort();
  const errorRows = endpoints
    .map((e) => [e, before?.report.byEndpoint[e]?.['5xx'] ?? 0, before?.report.byEndpoint[e]?.hangs ?? 0, now.report.byEndpoint[e]?.['5xx'] ?? 0, now.report.byEndpoint[e]?.hangs ?? 0] as const)
    .filter(([, ...n]) => n.some((x) => x > 0));
  const lines = [
    `${SCHEMATHESIS.requirement} (checks: no 5xx, response schema, content type; phases examples, coverage, fuzzing; ${SECONDS} s, 2 workers, seed ${SEED}) against the service as \`npm start\` runs it, with the dev admin key. A hang is no response within 75 s; slow is over 10 s (a long poll: over its wait + 5 s). The two runs take turns on one machine; compare rates per 1000 requests, not requests per second (the older code answers more slowly, and the machine may be busy).`,
    '',
    table(
      ['service', 'commit', 'requests', 'req/s', '2xx', '4xx', '5xx', '5xx per 1000', 'hangs', 'slow', 'failed checks'],
      measured.map((m) => {
        const s = m.report.totals;
        return [m.label, m.commit, s.requests, fmt(s.requests / m.report.seconds, 0), s['2xx'], s['4xx'], s['5xx'], fmt(per1000(s['5xx'], s.requests), 2), s.hangs, s.slow, m.report.failures.length];
      }),
    ),
    '',
    before
      ? `5xx per 1000 requests: ${fmt(per1000(before.report.totals['5xx'], before.report.totals.requests), 2)} before → ${fmt(per1000(t['5xx'], t.requests), 2)} now; hangs ${before.report.totals.hangs} → ${t.hangs}.`
      : 'No baseline run (FUZZ_BASELINE=none).',
    '',
    errorRows.length
      ? table(['endpoint', '5xx before', 'hangs before', '5xx now', 'hangs now'], errorRows.map((r) => [...r]))
      : 'No endpoint answered a 5xx or hung in either run.',
    '',
    now.report.problems.length ? `Now, to reproduce:\n${now.report.problems.map((p) => `- ${p.endpoint} → ${p.status}: ${p.url}`).join('\n')}` : 'Now: no 5xx, hang or slow response.',
    now.report.failures.length ? `\nFailed checks now:\n${now.report.failures.map((f) => `- ${f}`).join('\n')}` : '',
    before?.report.failures.length ? `\nFailed checks before:\n${before.report.failures.slice(0, 30).map((f) => `- ${f}`).join('\n')}` : '',
  ];
  return {
    title: '(i) The API under a fuzzer',
    markdown: lines.join('\n'),
    data: measured.map((m) => ({ label: m.label, commit: m.commit, seconds: m.report.seconds, totals: m.report.totals, byEndpoint: m.report.byEndpoint, problems: m.report.problems, failures: m.report.failures, generatorErrors: m.report.generatorErrors })),
  };
};
