// GET /metrics scraped by the real Prometheus (Debian's `prometheus`, /usr/bin/prometheus or
// PROMETHEUS_BIN): the API on a port with a metrics token, a proxy completion and an answer task
// so series exist, Prometheus scraping every second with that token, and the series read back
// through its HTTP query API; the Temporal SDK's worker metrics, on their own address
// (GATEHOUSE_TEMPORAL_METRICS_ADDRESS), are scraped beside them. Without the binary the test is skipped locally and fails in CI
// (CI=1, set by .ci/run, which installs it).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installRuntime } from '../../workers/worker.js';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { testLog } from '../support/harness.js';
import { freePort } from '../support/free-port.js';

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const present = existsSync(PROMETHEUS);
const inCi = Boolean(process.env.CI);
if (!present && !inCi) console.warn(`prometheus.test.ts skipped: no ${PROMETHEUS} (apt-get install -y prometheus, or set PROMETHEUS_BIN)`);

const TOKEN = 'metrics-token-0123456789abcdef';

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

(present || inCi ? describe : describe.skip)('Prometheus scrapes GET /metrics', () => {
  let api: TestApi;
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let promBase: string;
  let promLog = '';

  beforeAll(async () => {
    if (!present) throw new Error(`no prometheus at ${PROMETHEUS}: CI must install it (apt-get install -y prometheus in .ci/run)`);
    // Before the harness's worker: the runtime is installed once per process (each test file is one, pool: forks).
    const sdkMetrics = `127.0.0.1:${await freePort()}`;
    installRuntime(testLog, { metricsAddress: sdkMetrics });
    api = await startTestApi({ GATEHOUSE_METRICS_TOKEN: TOKEN });
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-prometheus-'));
    const target = new URL(api.base).host;
    await writeFile(
      path.join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: gatehouse',
        '    authorization:',
        `      credentials: ${TOKEN}`,
        '    static_configs:',
        `      - targets: ['${target}']`,
        '  - job_name: temporal-sdk',
        '    static_configs:',
        `      - targets: ['${sdkMetrics}']`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    promBase = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Its log is kept for a failure's message only.
    prometheus.stderr?.on('data', (d: Buffer) => (promLog = (promLog + d.toString()).slice(-4_000)));
    prometheus.stdout?.resume();
  });
  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A PromQL instant query, asked until it returns a sample (Prometheus scrapes every second) or 30 s pass. */
  async function queryUntilFound(promql: string): Promise<PromSample[]> {
    const deadline = Date.now() + 30_000;
    let last = '';
    while (Date.now() < deadline) {
      const res = await fetch(`${promBase}/api/v1/query?query=${encodeURIComponent(promql)}`).catch((err: unknown) => new Error(String(err)));
      if (!(res instanceof Error)) {
        const body = (await res.json()) as { status: string; data?: { result: PromSample[] } };
        last = JSON.stringify(body);
        if (body.status === 'success' && body.data?.result.length) return body.data.result;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`no sample for ${promql} within 30 s (last answer: ${last}); prometheus log: ${promLog}`);
  }

  it('asks for the token, and answers the text exposition format with it', async () => {
    expect((await api.call('GET', '/metrics')).status).toBe(401);
    expect((await api.call('GET', '/metrics', { key: 'not-the-token-0123456789' })).status).toBe(401);
    const res = await api.call('GET', '/metrics', { key: TOKEN });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.json).toContain('# TYPE gatehouse_model_tokens_total counter');
    // Not part of the JSON API: /openapi.json does not list it.
    const openapi = await api.call('GET', '/openapi.json');
    expect(Object.keys(openapi.json.paths)).not.toContain('/metrics');
  });

  it("reads a proxy completion's tokens and an answer task back through Prometheus' query API", async () => {
    api.model.enqueue({ content: 'Open the rear door.', usage: { promptTokens: 40, completionTokens: 5 } });
    const done = await api.call('POST', '/v1/chat/completions', { key: api.keys.admin, body: { model: 'primary', messages: [{ role: 'user', content: 'How do I clear a jam?' }] } });
    expect(done.status).toBe(200);

    const started = await api.call('POST', '/v1/tasks', { key: api.keys.admin, body: { type: 'answer', input: 'How do I clear an E-102 jam?' } });
    expect(started.status).toBe(202);
    const taskId = started.json.taskId as string;
    for (let i = 0; i < 120; i++) {
      const task = await api.call('GET', `/v1/tasks/${taskId}`, { key: api.keys.admin });
      if (task.json.status !== 'running' && task.json.status !== 'working') break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const [tokens] = await queryUntilFound(`gatehouse_model_tokens_total{tenant="${api.tenant}",kind="output"}`);
    expect(tokens!.metric).toMatchObject({ job: 'gatehouse', model: 'primary', step: 'proxy', tenant: api.tenant, kind: 'output' });
    expect(tokens!.value[1]).toBe('5');

    const [calls] = await queryUntilFound(`sum(gatehouse_model_call_duration_seconds_count{tenant="${api.tenant}",outcome="ok"})`);
    expect(Number(calls!.value[1])).toBeGreaterThanOrEqual(1);

    const [tasksStarted] = await queryUntilFound(`gatehouse_tasks_started_total{tenant="${api.tenant}",type="answer"}`);
    expect(tasksStarted!.value[1]).toBe('1');
    // Finished tasks, from Temporal's visibility: this one at least.
    const [finished] = await queryUntilFound('gatehouse_tasks{type="answer",status="completed"}');
    expect(Number(finished!.value[1])).toBeGreaterThanOrEqual(1);
  });

  it("scrapes the Temporal SDK's worker metrics from their own address", async () => {
    // The worker polled its task queue: the SDK counts its requests to the server.
    const [requests] = await queryUntilFound('sum(temporal_request_total{job="temporal-sdk"})');
    expect(Number(requests!.value[1])).toBeGreaterThan(0);
  });
});
