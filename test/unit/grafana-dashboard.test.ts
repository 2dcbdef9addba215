// The Grafana dashboard (deploy/grafana/gatehouse.json) and compose's Prometheus configuration:
// valid, every Gatehouse metric a panel asks for defined in infra/metrics.ts, and every query
// valid PromQL and the configuration valid by Prometheus' own promtool (installed with Debian's
// `prometheus`; skipped without it locally, a failure in CI, as the Prometheus test).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { metricsRegistry } from '../../infra/metrics.js';

const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
const promtool = existsSync(PROMTOOL) || process.env.CI ? it : it.skip;

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}

async function dashboard(): Promise<{ uid: string; panels: Panel[] }> {
  return JSON.parse(await readFile('deploy/grafana/gatehouse.json', 'utf8')) as { uid: string; panels: Panel[] };
}

/** Grafana's variables as Prometheus would see them after Grafana substituted them. */
function asPromql(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$tenant', '.*').replaceAll('$model', '.*');
}

describe('the Grafana dashboard', () => {
  it('asks only for metrics Gatehouse defines (or the Temporal SDK exports)', async () => {
    const { uid, panels } = await dashboard();
    expect(uid).toBe('gatehouse');
    const exprs = panels.flatMap((p) => p.targets?.map((t) => t.expr) ?? []);
    expect(exprs.length).toBeGreaterThan(15);
    const defined = new Set(metricsRegistry.getMetricsAsArray().map((m) => m.name));
    const asked = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(gatehouse_[a-z_]+|temporal_[a-z_]+)\b/g)].map((m) => m[1]!)));
    for (const name of asked) {
      if (name.startsWith('temporal_')) continue;
      expect(defined, name).toContain(name.replace(/_(bucket|count|sum)$/, ''));
    }
    // Every metric of ours is on the dashboard somewhere.
    for (const name of defined) if (!name.startsWith('gatehouse_process_') && !name.startsWith('gatehouse_nodejs_')) expect([...asked].some((a) => a.startsWith(name)), name).toBe(true);
  });

  promtool("every panel's query is valid PromQL, and compose's Prometheus configuration is valid (promtool)", async () => {
    if (!existsSync(PROMTOOL)) throw new Error(`no promtool at ${PROMTOOL}: CI must install prometheus (.ci/run)`);
    const { panels } = await dashboard();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-promtool-'));
    try {
      const rules = panels
        .flatMap((p) => p.targets ?? [])
        .map((t, i) => `      - record: gatehouse:panel_${i}\n        expr: '${asPromql(t.expr).replaceAll("'", "''")}'`);
      await writeFile(path.join(dir, 'rules.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      await promisify(execFile)(PROMTOOL, ['check', 'rules', path.join(dir, 'rules.yml')]);
      // The token file the compose entrypoint writes, here beside the config.
      const config = (await readFile('deploy/prometheus/prometheus.yml', 'utf8')).replaceAll('/prometheus/metrics-token', path.join(dir, 'token'));
      await writeFile(path.join(dir, 'token'), 'token');
      await writeFile(path.join(dir, 'prometheus.yml'), config);
      await promisify(execFile)(PROMTOOL, ['check', 'config', path.join(dir, 'prometheus.yml')]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
