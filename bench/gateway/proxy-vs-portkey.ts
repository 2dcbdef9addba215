// (b) The OpenAI-compatible proxy (POST /v1/chat/completions) against Portkey's open-source
// gateway (@portkey-ai/gateway, its node server), both forwarding to the same zero-latency
// scripted server; the baseline is that server called directly. One HTTP client for all three
// (node:http, a keep-alive agent with one socket per client), 1 and 32 concurrent clients for a
// fixed time each, targets interleaved in rounds. Gatehouse runs in its own process (proxy-server.ts),
// once with PGlite in that process (`npm start`'s shape) and once on a native Postgres; Portkey
// runs its server as shipped, headless. After the timed rounds, each server is profiled for a
// few seconds at C=1 (profile-on-signal.ts, preloaded into every server) to say where its CPU goes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNativePostgres } from '../../test/support/native-postgres.js';
import { startScriptedModelServer } from '../../test/support/scripted-model-server.js';
import { fmt, percentile, table } from '../lib/stats.js';
import { cpuByComponent } from './cpu-profile.js';
import { BENCH_MODEL, verdict, type GatewayPart } from './common.js';
import { freePort } from '../../test/support/free-port.js';

const CONCURRENCY = [1, 32];
const ROUNDS = 12;
const ROUND_SECONDS = 1;
const WARMUP_SECONDS = 2;
const ADDED_P50_TARGET_MS = 0.5;
const THROUGHPUT_TARGET = 3;
/** Portkey's added p50 at C=1 when it was measured on this machine before (the benchmark's spec): how slow this run's machine is. */
const PORTKEY_EARLIER_ADDED_MS = [1.1, 1.3];

const BODY = JSON.stringify({ model: BENCH_MODEL, messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 16 });
const PROFILE_SECONDS = 5;
const PROXY_SCRIPT = fileURLToPath(new URL('./proxy-server.ts', import.meta.url));
const PROFILER = fileURLToPath(new URL('./profile-on-signal.ts', import.meta.url));
/** tsx first (the preload is TypeScript), then the profiler: both before any server code. */
const PRELOAD = ['--import', 'tsx', '--import', PROFILER];

interface Target {
  name: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  /** The server's own process, whose CPU time per request the report shows; absent when it is this process. */
  pid?: number;
  /** Where its profiler writes, on the second SIGUSR2. */
  profileFile?: string;
}

interface Window {
  latencies: number[];
  seconds: number;
  errors: number;
  firstError?: string;
  cpuMs?: number;
}

/** utime + stime of a process, in ms (clock ticks are 100 Hz on Linux). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function post(agent: http.Agent, target: Target): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: '127.0.0.1', port: target.port, path: target.path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY), ...target.headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

/** `clients` closed loops against one target for `seconds`. */
async function load(agent: http.Agent, target: Target, clients: number, seconds: number): Promise<Window> {
  const window: Window = { latencies: [], seconds, errors: 0 };
  const cpuBefore = target.pid ? await cpuMs(target.pid) : undefined;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const res = await post(agent, target);
          if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 300)}`);
          window.latencies.push(performance.now() - t0);
        } catch (err) {
          window.errors++;
          window.firstError ??= String(err);
        }
      }
    }),
  );
  window.seconds = (performance.now() - started) / 1000;
  if (target.pid && cpuBefore !== undefined) window.cpuMs = (await cpuMs(target.pid)) - cpuBefore;
  return window;
}

/** A child process that prints what it is listening on, or dies before it does. */
function spawnServer(command: string, args: string[], env: Record<string, string>, ready: (stdout: string) => boolean): Promise<{ child: ChildProcess; stdout: string }> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (ready(stdout)) resolve({ child, stdout });
    });
    child.once('exit', (code) => reject(new Error(`${path.basename(args[args.length - 1] ?? command)} exited (${code}) before it was ready: ${stderr}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function startGatehouse(modelBaseUrl: string, profileFile: string, opts: { databaseUrl?: string; gatewayWithoutDb?: boolean } = {}): Promise<{ port: number; key: string; child: ChildProcess }> {
  const { child, stdout } = await spawnServer(
    process.execPath,
    [...PRELOAD, PROXY_SCRIPT],
    {
      MODEL_BASE_URL: modelBaseUrl,
      CPU_PROFILE_FILE: profileFile,
      ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
      ...(opts.gatewayWithoutDb ? { GATEWAY_WITHOUT_DB: '1' } : {}),
    },
    (out) => out.includes('\n'),
  );
  const { port, key } = JSON.parse(stdout.split('\n')[0]!) as { port: number; key: string };
  return { port, key, child };
}

/** Portkey's node server (build/start-server.js: `--port=N`, `--headless` skips its log UI). */
async function startPortkey(profileFile: string): Promise<{ port: number; child: ChildProcess; version: string }> {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@portkey-ai/gateway/package.json');
  const { version } = JSON.parse(await readFile(pkg, 'utf8')) as { version: string };
  const port = await freePort();
  const { child } = await spawnServer(process.execPath, [...PRELOAD, path.join(path.dirname(pkg), 'build', 'start-server.js'), `--port=${port}`, '--headless'], { CPU_PROFILE_FILE: profileFile }, (out) =>
    out.includes('Ready for connections'),
  );
  return { port, child, version };
}

export const compareProxies: GatewayPart = async (ctx) => {
  const model = await startScriptedModelServer({ models: [BENCH_MODEL] });
  model.onChat(() => ({ content: 'ok', usage: { promptTokens: 12, completionTokens: 1 } }));
  // The scripted server keeps every request it saw; at thousands a second that is only garbage.
  const forget = setInterval(() => (model.requests.length = 0), 1000);
  const children: ChildProcess[] = [];
  const native = await startNativePostgres();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-proxy-bench-'));
  const profileOf = (name: string) => path.join(scratch, `${name}.cpuprofile`);
  try {
    ctx.log('proxy: starting Gatehouse (three ways) and Portkey');
    const onPglite = await startGatehouse(model.baseUrl, profileOf('pglite'));
    children.push(onPglite.child);
    const onNative = await startGatehouse(model.baseUrl, profileOf('native'), { databaseUrl: native.url });
    children.push(onNative.child);
    const withoutDb = await startGatehouse(model.baseUrl, profileOf('nodb'), { gatewayWithoutDb: true });
    children.push(withoutDb.child);
    const portkey = await startPortkey(profileOf('portkey'));
    children.push(portkey.child);
    const modelPort = Number(new URL(model.origin).port);
    const targets: Target[] = [
      { name: 'direct (scripted server)', port: modelPort, path: '/v1/chat/completions', headers: {} },
      { name: 'Gatehouse proxy, PGlite', port: onPglite.port, path: '/v1/chat/completions', headers: { authorization: `Bearer ${onPglite.key}` }, pid: onPglite.child.pid, profileFile: profileOf('pglite') },
      { name: 'Gatehouse proxy, native Postgres', port: onNative.port, path: '/v1/chat/completions', headers: { authorization: `Bearer ${onNative.key}` }, pid: onNative.child.pid, profileFile: profileOf('native') },
      { name: 'Gatehouse proxy, gateway without database', port: withoutDb.port, path: '/v1/chat/completions', headers: { authorization: `Bearer ${withoutDb.key}` }, pid: withoutDb.child.pid, profileFile: profileOf('nodb') },
      {
        name: `Portkey gateway ${portkey.version}`,
        port: portkey.port,
        path: '/v1/chat/completions',
        // Portkey's own headers: the provider, its endpoint (OpenAI's wire format on our server) and the provider key it forwards.
        headers: { authorization: 'Bearer sk-bench', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': model.baseUrl },
        pid: portkey.child.pid,
        profileFile: profileOf('portkey'),
      },
    ];
    // Every target answers the same completion before anything is timed.
    const probe = new http.Agent({ keepAlive: true });
    for (const t of targets) {
      const res = await post(probe, t);
      const content = (JSON.parse(res.body) as { choices?: Array<{ message?: { content?: string } }> }).choices?.[0]?.message?.content;
      if (res.status !== 200 || content !== 'ok') throw new Error(`${t.name} did not answer the probe: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    }
    probe.destroy();

    const results: Record<number, Record<string, Window>> = {};
    for (const clients of CONCURRENCY) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
      ctx.log(`proxy: C=${clients}, warmup ${WARMUP_SECONDS} s per target, then ${ROUNDS} rounds × ${ROUND_SECONDS} s`);
      for (const t of targets) await load(agent, t, clients, WARMUP_SECONDS);
      const merged: Record<string, Window> = Object.fromEntries(targets.map((t) => [t.name, { latencies: [], seconds: 0, errors: 0, cpuMs: t.pid ? 0 : undefined }]));
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < targets.length; k++) {
          const t = targets[(round + k) % targets.length]!;
          const w = await load(agent, t, clients, ROUND_SECONDS);
          const m = merged[t.name]!;
          m.latencies.push(...w.latencies);
          m.seconds += w.seconds;
          m.errors += w.errors;
          m.firstError ??= w.firstError;
          if (w.cpuMs !== undefined) m.cpuMs = (m.cpuMs ?? 0) + w.cpuMs;
        }
      }
      agent.destroy();
      results[clients] = merged;
    }
    const profiles = await profileServers(targets, ctx.log);
    return report(targets, results, profiles);
  } finally {
    clearInterval(forget);
    await rm(scratch, { recursive: true, force: true });
    for (const c of children) await stopChild(c);
    await native.stop();
    await model.close();
  }
};

/** Each server's CPU time per request by component, over a profiled C=1 window. */
async function profileServers(targets: Target[], log: (m: string) => void): Promise<Record<string, Array<{ component: string; usPerRequest: number }>>> {
  const profiles: Record<string, Array<{ component: string; usPerRequest: number }>> = {};
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (const t of targets) {
    if (!t.pid || !t.profileFile) continue;
    log(`proxy: profiling ${t.name} for ${PROFILE_SECONDS} s at C=1`);
    process.kill(t.pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 500));
    const w = await load(agent, t, 1, PROFILE_SECONDS);
    process.kill(t.pid, 'SIGUSR2');
    for (let waited = 0; !existsSync(t.profileFile) && waited < 20_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    // The profiler's time deltas are wall time, which a busy machine inflates when the process waits
    // for a core: its shares are kept, scaled to the CPU time the process really used (/proc).
    const shares = cpuByComponent(JSON.parse(await readFile(t.profileFile, 'utf8')), w.latencies.length);
    const sampled = shares.reduce((n, c) => n + c.usPerRequest, 0);
    const measured = ((w.cpuMs ?? 0) * 1000) / Math.max(1, w.latencies.length);
    profiles[t.name] = shares.map((c) => ({ component: c.component, usPerRequest: (c.usPerRequest / sampled) * measured }));
  }
  agent.destroy();
  return profiles;
}

function profileTable(profiles: Record<string, Array<{ component: string; usPerRequest: number }>>): string {
  const names = Object.keys(profiles);
  const components = [...new Set(names.flatMap((n) => profiles[n]!.map((c) => c.component)))];
  const us = (n: string, c: string) => profiles[n]!.find((x) => x.component === c)?.usPerRequest ?? 0;
  // Largest first, by their sum over the servers.
  components.sort((a, b) => names.reduce((s, n) => s + us(n, b), 0) - names.reduce((s, n) => s + us(n, a), 0));
  const rows = components.map((c) => [c, ...names.map((n) => (us(n, c) >= 0.5 ? fmt(us(n, c), 0) : '—'))]);
  rows.push(['**total**', ...names.map((n) => `**${fmt(profiles[n]!.reduce((s, c) => s + c.usPerRequest, 0), 0)}**`)]);
  return table(['CPU µs per request, by component', ...names], rows);
}

/**
 * Why the numbers fall where they do, from the profiles: on a saturated machine req/s is the cores
 * over the CPU a request costs, so a multiple of Portkey's req/s needs that fraction of its CPU.
 */
function explain(profiles: Record<string, Array<{ component: string; usPerRequest: number }>>, withDb: string, withoutDb: string, portkey: string, dbAddsMs: number): string {
  const total = (n: string) => profiles[n]?.reduce((s, c) => s + c.usPerRequest, 0) ?? NaN;
  const part = (n: string, re: RegExp) => profiles[n]?.filter((c) => re.test(c.component)).reduce((s, c) => s + c.usPerRequest, 0) ?? NaN;
  const outbound = (n: string) => part(n, /openai|undici/);
  return (
    `Reading the profile: a Gatehouse request on native Postgres costs ${fmt(total(withDb), 0)} µs of its server's CPU against Portkey's ${fmt(total(portkey), 0)} µs. ` +
    `The outbound call alone — the \`openai\` client over fetch, what every Gatehouse model call goes through — is ${fmt(outbound(withDb), 0)} µs, where Portkey calls fetch directly (${fmt(outbound(portkey), 0)} µs in fetch). ` +
    `The limits path adds ${fmt(part(withDb, /Postgres client/), 0)} µs in pg for its two round trips (the rules query, the usage row), which Portkey, having no budgets or ledger, does not make; ` +
    `Fastify and the zod schemas take ${fmt(part(withDb, /Fastify|zod/), 0)} µs, the gateway's code and token counting ${fmt(part(withDb, /Gatehouse gateway|token counting/), 0)} µs, ` +
    `the proxy route and the rest of api/ ${fmt(part(withDb, /Gatehouse API/), 0)} µs — nothing there is cheap to cut and large enough to matter, so api/routes/openai-proxy.ts is unchanged. ` +
    `Without a database (its row above) Gatehouse costs ${fmt(total(withoutDb), 0)} µs. ` +
    `On a saturated 2-core machine req/s is bounded by the cores over the CPU per request, so ${THROUGHPUT_TARGET}× Portkey's req/s needs at most ${fmt(total(portkey) / THROUGHPUT_TARGET, 0)} µs per request` +
    (outbound(withDb) > total(portkey) / THROUGHPUT_TARGET ? ` — less than the \`openai\` client and fetch cost on their own here. ` : '. ') +
    (dbAddsMs > 0
      ? `At C=1 the database's round trips add ${fmt(dbAddsMs, 3)} ms p50 (native row against the row without a database), against a budget of ${ADDED_P50_TARGET_MS} ms for everything.`
      : `At C=1 the native row and the row without a database differ by ${fmt(dbAddsMs, 3)} ms p50: this run's scheduling noise is larger than the database's share, which (a) measures directly.`)
  );
}

function report(targets: Target[], results: Record<number, Record<string, Window>>, profiles: Record<string, Array<{ component: string; usPerRequest: number }>>) {
  const [direct, ghPglite, ghNative, ghWithoutDb, portkey] = targets.map((t) => t.name) as [string, string, string, string, string];
  const data: Record<string, unknown> = { rounds: ROUNDS, roundSeconds: ROUND_SECONDS, warmupSeconds: WARMUP_SECONDS, cpuProfileUsPerRequest: profiles };
  const sections: string[] = [];
  for (const clients of CONCURRENCY) {
    const byTarget = results[clients]!;
    const stats = (name: string) => {
      const w = byTarget[name]!;
      return {
        requests: w.latencies.length,
        errors: w.errors,
        firstError: w.firstError,
        rps: w.latencies.length / w.seconds,
        p50Ms: percentile(w.latencies, 50),
        p99Ms: percentile(w.latencies, 99),
        serverCpuUsPerRequest: w.cpuMs === undefined ? undefined : (w.cpuMs * 1000) / Math.max(1, w.latencies.length),
      };
    };
    const rows = Object.fromEntries(targets.map((t) => [t.name, stats(t.name)]));
    const base = rows[direct]!;
    const pk = rows[portkey]!;
    data[`c${clients}`] = rows;
    sections.push(
      `**${clients} concurrent client${clients > 1 ? 's' : ''}**\n\n` +
        table(
          ['target', 'requests', 'errors', 'req/s', 'p50 ms', 'p99 ms', 'added p50 ms', 'req/s ÷ Portkey', 'server CPU µs / request'],
          targets.map((t) => {
            const r = rows[t.name]!;
            return [t.name, r.requests, r.errors, fmt(r.rps, 0), fmt(r.p50Ms, 3), fmt(r.p99Ms, 3), t.name === direct ? '—' : fmt(r.p50Ms - base.p50Ms, 3), fmt(r.rps / pk.rps, 2), r.serverCpuUsPerRequest === undefined ? '—' : fmt(r.serverCpuUsPerRequest, 0)];
          }),
        ),
    );
  }
  const c1 = data.c1 as Record<string, { p50Ms: number }>;
  const c32 = data.c32 as Record<string, { rps: number }>;
  const verdicts = [ghPglite, ghNative, ghWithoutDb].map((g) => {
    const added = c1[g]!.p50Ms - c1[direct]!.p50Ms;
    const ratio = c32[g]!.rps / c32[portkey]!.rps;
    const portkeyAdded = c1[portkey]!.p50Ms - c1[direct]!.p50Ms;
    return (
      `- ${g}: added p50 at C=1 ${fmt(added, 3)} ms (Portkey ${fmt(portkeyAdded, 3)} ms) — ${verdict(added <= ADDED_P50_TARGET_MS, `${fmt(added - ADDED_P50_TARGET_MS, 3)} ms`)}; ` +
      `req/s at C=32 ${fmt(ratio, 2)}× Portkey's — ${verdict(ratio >= THROUGHPUT_TARGET, `${fmt(THROUGHPUT_TARGET - ratio, 2)}× (${fmt(c32[g]!.rps, 0)} vs the ${fmt(THROUGHPUT_TARGET * c32[portkey]!.rps, 0)} req/s needed)`)}.`
    );
  });
  const markdown = [
    `### (b) The proxy endpoint against Portkey's gateway`,
    '',
    `\`POST /v1/chat/completions\` with one user message, forwarded by each gateway to the same zero-latency scripted server (OpenAI's wire format); the baseline is that server called directly. ` +
      `One client for all (node:http, keep-alive, one socket per concurrent client), closed loops, ${WARMUP_SECONDS} s warm-up per target, then ${ROUNDS} interleaved rounds of ${ROUND_SECONDS} s per target. ` +
      `Gatehouse runs in its own process as \`npm start\` wires it (request logs off), its key a backend's with \`models:call\` on a tenant without rules: per request, the cached key lookup, one rules query and the usage row. ` +
      `Portkey runs its node server as shipped (\`--headless\`). **The machine has 2 cores, shared by the load generator and scripted server (one process), the gateway under test and, for the native row, Postgres** — ` +
      `at C=32 everyone competes for CPU, so req/s measures efficiency under contention more than a gateway's own ceiling; "server CPU" is the gateway process's own CPU time per request (/proc).`,
    '',
    ...sections.flatMap((s) => [s, '']),
    `Portkey adds ${fmt(c1[portkey]!.p50Ms - c1[direct]!.p50Ms, 3)} ms p50 at C=1 in this run, against ${PORTKEY_EARLIER_ADDED_MS.join('–')} ms when it was measured on this machine before: ` +
      `the absolute numbers move with whatever else the 2 cores run (see the load average below); the ratios, from rounds interleaved in the same minutes, move less.`,
    '',
    `Targets: ≤ ${ADDED_P50_TARGET_MS} ms added p50 at C=1, ≥ ${THROUGHPUT_TARGET}× Portkey's req/s at C=32.`,
    '',
    ...verdicts,
    '',
    `Where each server's CPU goes: a V8 CPU profile of each server process over ${PROFILE_SECONDS} s at C=1 after the timed rounds, each sample counted to the innermost frame of a known component ` +
      `(a socket write to the model counts to fetch, one to Postgres to pg; module loading and idle left out), the shares scaled to the CPU time the process used in that window (/proc; the profiler's own cost included):`,
    '',
    profileTable(profiles),
    '',
    explain(profiles, ghNative, ghWithoutDb, portkey, c1[ghNative]!.p50Ms - c1[ghWithoutDb]!.p50Ms),
  ].join('\n');
  return { markdown, data };
}
