// Runs schemathesis (a schema-driven fuzzer, PyPI) against a running API's /openapi.json with
// an admin key, and sums up what it sent from its HAR log: requests, status classes, hangs
// (requests that hit the timeout), per endpoint. Used by test/e2e/fuzz.test.ts (a short run
// in CI) and `npm run bench -- fuzz` (10,000 requests).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureSchemathesis } from '../../infra/tools.js';

/**
 * The checks chosen deliberately. `not_a_server_error` (no 5xx) is the point;
 * `response_schema_conformance` and `content_type_conformance` hold a response to what the
 * OpenAPI document says. Left out: `status_code_conformance` (401/405/413/414/431 come from the
 * edge on any route, not listed per operation), `negative_data_rejection` and
 * `positive_data_acceptance` (schemathesis cannot see cross-field rules such as an unknown
 * task id being a 404, which it reads as "valid data rejected"), and the stateful
 * use-after-free / authorization checks (one key, one tenant).
 */
export const FUZZ_CHECKS = ['not_a_server_error', 'response_schema_conformance', 'content_type_conformance'];

export interface FuzzOptions {
  baseUrl: string;
  apiKey: string;
  /** Stop after this many seconds (fuzzing repeats until it is spent). */
  maxTimeSeconds: number;
  /** Test cases per operation and phase. */
  maxExamples: number;
  seed?: number;
  workers?: number;
  /** No response within this is a hang (default 75 s: past the longest documented long poll, `wait=60`). */
  requestTimeoutSeconds?: number;
  /** Slower than this is slow (default 10 s), except a long poll that waited as asked. */
  slowSeconds?: number;
  phases?: string[];
  log?: (line: string) => void;
}

export interface EndpointStats {
  requests: number;
  '2xx': number;
  '4xx': number;
  '5xx': number;
  other: number;
  hangs: number;
  slow: number;
}

export interface FuzzReport {
  exitCode: number | null;
  seconds: number;
  totals: EndpointStats;
  byEndpoint: Record<string, EndpointStats>;
  /** The first few 5xx responses and hangs, to reproduce. */
  problems: Array<{ endpoint: string; status: number; url: string; body?: string }>;
  /** Failed checks, as schemathesis lists them: "DELETE /v1/api-keys/{keyId}: ST104 Missing Content-Type header". */
  failures: string[];
  /** Operations schemathesis itself could not generate for (its own errors, not the API's). */
  generatorErrors: string[];
  /** What schemathesis printed from its FAILURES section on (the reproductions). */
  summary: string;
}

const emptyStats = (): EndpointStats => ({ requests: 0, '2xx': 0, '4xx': 0, '5xx': 0, other: 0, hangs: 0, slow: 0 });

/**
 * The event stream stays open while a task runs (server-sent events): a fuzzer's request to it
 * never "completes", by design. Its parameters and headers are validated before the stream
 * opens, which test/e2e/bad-input.test.ts covers.
 */
export const FUZZ_EXCLUDED_PATHS = '/events$';

interface HarEntry {
  request: { method: string; url: string };
  response: { status: number; content?: { text?: string } };
  time?: number;
}

/** `/v1/tasks/task_1/approvals/apr_2` → `/v1/tasks/{}/approvals/{}`: ids collapse so endpoints group. */
function endpointOf(method: string, url: string, templates: Array<{ method: string; pattern: RegExp; path: string }>): string {
  const pathname = new URL(url).pathname;
  const found = templates.find((t) => t.method === method && t.pattern.test(pathname)) ?? templates.find((t) => t.pattern.test(pathname));
  return `${method} ${found?.path ?? pathname}`;
}

export async function runSchemathesis(options: FuzzOptions): Promise<FuzzReport> {
  const cli = await ensureSchemathesis();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-fuzz-'));
  const har = path.join(dir, 'fuzz.har');
  const timeout = options.requestTimeoutSeconds ?? 75;
  const slowMs = (options.slowSeconds ?? 10) * 1000;
  const args = [
    ...cli.args,
    'run',
    `${options.baseUrl}/openapi.json`,
    '--url',
    options.baseUrl,
    '-H',
    `Authorization: Bearer ${options.apiKey}`,
    '--checks',
    FUZZ_CHECKS.join(','),
    '--max-examples',
    String(options.maxExamples),
    '--max-time',
    String(options.maxTimeSeconds),
    '--request-timeout',
    String(timeout),
    '--workers',
    String(options.workers ?? 2),
    '--exclude-path-regex',
    FUZZ_EXCLUDED_PATHS,
    '--phases',
    (options.phases ?? ['examples', 'coverage', 'fuzzing']).join(','),
    '--continue-on-failure',
    '--suppress-health-check',
    'all',
    '--generation-database',
    'none',
    '--report',
    'har',
    '--report-har-path',
    har,
    '--no-color',
    '--output-truncate',
    'true',
  ];
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  const started = performance.now();
  const output: string[] = [];
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(cli.command, args, { cwd: dir, env: { ...process.env, ...cli.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        output.push(line);
        if (output.length > 400) output.shift();
        options.log?.(line);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // Schemathesis stops itself at --max-time; this is the backstop if it does not.
    const killer = setTimeout(() => child.kill('SIGKILL'), (options.maxTimeSeconds + 120) * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve(code);
    });
  });
  const seconds = (performance.now() - started) / 1000;

  const spec = (await (await fetch(`${options.baseUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const templates = Object.entries(spec.paths).flatMap(([p, ops]) =>
    Object.keys(ops).map((method) => ({
      method: method.toUpperCase(),
      path: p,
      pattern: new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    })),
  );
  let entries: HarEntry[];
  try {
    entries = (JSON.parse(await readFile(har, 'utf8')) as { log: { entries: HarEntry[] } }).log.entries;
  } catch (err) {
    throw new Error(`schemathesis wrote no HAR log (exit ${exitCode}): ${output.slice(-20).join('\n')}`, { cause: err });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const totals = emptyStats();
  const byEndpoint: Record<string, EndpointStats> = {};
  const problems: FuzzReport['problems'] = [];
  for (const e of entries) {
    const endpoint = endpointOf(e.request.method, e.request.url, templates);
    const stats = (byEndpoint[endpoint] ??= emptyStats());
    const status = e.response.status;
    // A request that got no response in time is recorded without a status (0).
    const hang = !status || (e.time ?? 0) >= timeout * 1000;
    const bucket = hang ? 'hangs' : status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 200 && status < 300 ? '2xx' : 'other';
    const url = new URL(e.request.url);
    const askedToWaitMs = url.pathname.endsWith('/result') ? Number(url.searchParams.get('wait') ?? 0) * 1000 : 0;
    const slow = !hang && (e.time ?? 0) > Math.max(slowMs, askedToWaitMs + 5_000);
    for (const s of [stats, totals]) {
      s.requests += 1;
      s[bucket] += 1;
      if (slow) s.slow += 1;
    }
    if ((bucket === '5xx' || bucket === 'hangs' || slow) && problems.length < 20) {
      problems.push({ endpoint, status, url: e.request.url, body: e.response.content?.text?.slice(0, 300) });
    }
  }
  const { failures, generatorErrors } = parseSections(output);
  const summaryAt = output.findIndex((l) => /=+ FAILURES =+/.test(l));
  return { exitCode, seconds, totals, byEndpoint, problems, failures, generatorErrors, summary: output.slice(summaryAt >= 0 ? summaryAt : -40).join('\n') };
}

/** Schemathesis's ERRORS and FAILURES sections: `____ METHOD /path ____` headers, then what failed. */
function parseSections(lines: string[]): { failures: string[]; generatorErrors: string[] } {
  const failures: string[] = [];
  const generatorErrors: string[] = [];
  let section = '';
  let operation = '';
  for (const line of lines) {
    const heading = /^=+ ([A-Z]+) =+$/.exec(line.trim());
    if (heading) {
      section = heading[1]!;
      continue;
    }
    const op = /^_+ (.+?) _+$/.exec(line.trim());
    if (op) {
      operation = op[1]!;
      if (section === 'ERRORS') generatorErrors.push(operation);
      continue;
    }
    const check = /^- (ST\d+ .+)$/.exec(line.trim()) ?? /^- (.+)$/.exec(line.trim());
    if (section === 'FAILURES' && check && operation) failures.push(`${operation}: ${check[1]}`);
  }
  return { failures: [...new Set(failures)], generatorErrors };
}
