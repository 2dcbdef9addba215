// The metrics' values, read back from the process's registry: the gateway against the scripted
// model server (tokens, cost, duration, time to first token, failures by kind, the limits'
// refusals) and the approvals index (the wait from requested to decided). Each test has a tenant
// of its own, so the counts of other tests in this process never mix in.
import type { MetricValue } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { indexApproval } from '../../activities/agent/approval-index.js';
import type { PendingApproval } from '../../contracts/approvals.js';
import { metricsRegistry, serveMetrics } from '../../infra/metrics.js';
import type { Services } from '../../infra/services.js';
import { testConfig, testLog, testServices, uniqueId } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

/** The sum of a metric's samples (`sample`: _count, _sum or _bucket of a histogram) whose labels include `labels`. */
async function valueOf(name: string, labels: Record<string, string>, sample = name): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return (values as Array<MetricValue<string> & { metricName?: string }>)
    .filter((v) => (v.metricName ?? name) === sample && Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('metrics', () => {
  let server: ScriptedModelServer;
  let services: Services;
  let tenant: string;

  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['primary', 'secondary'] });
    services = await testServices('pglite');
  });
  afterAll(async () => {
    await server.close();
    await services.close();
  });
  beforeEach(() => {
    server.reset();
    tenant = uniqueId('metrics');
  });

  function gateway(chain: string[]) {
    const config = testConfig({
      OPENAI_BASE_URL: server.baseUrl,
      GATEHOUSE_CHAT_MODEL: chain[0]!,
      GATEHOUSE_MODEL_FALLBACKS: chain.slice(1).join(','),
      GATEHOUSE_MODEL_RETRIES: '0',
      GATEHOUSE_MODELS: JSON.stringify([
        { name: 'primary', inputPricePerMTok: 2, outputPricePerMTok: 8 },
        { name: 'secondary', inputPricePerMTok: 1, outputPricePerMTok: 4 },
      ]),
    });
    // No db: the limits are off, and the metrics are the gateway's own, not the ledger's.
    return new ModelGateway({ registry: config.models.registry, chain: config.models.chain, resilience: config.models.resilience, log: testLog });
  }
  const ask = { messages: [{ role: 'user' as const, content: 'What is the restocking fee?' }], maxTokens: 20 };

  it('counts a call: tokens by kind, cost, its duration, labelled by model, tenant and step', async () => {
    server.enqueue({ content: 'It is 15% [1].', usage: { promptTokens: 1000, completionTokens: 500 } });
    await gateway(['primary']).chat(ask, { tenantId: tenant, taskId: uniqueId('task'), step: 'generate' });
    const labels = { model: 'primary', tenant, step: 'generate' };
    expect(await valueOf('gatehouse_model_tokens_total', { ...labels, kind: 'input' })).toBe(1000);
    expect(await valueOf('gatehouse_model_tokens_total', { ...labels, kind: 'output' })).toBe(500);
    expect(await valueOf('gatehouse_model_cost_usd_total', labels)).toBeCloseTo(0.006, 8);
    expect(await valueOf('gatehouse_model_call_duration_seconds', { ...labels, outcome: 'ok', provider: 'openai' }, 'gatehouse_model_call_duration_seconds_count')).toBe(1);
    expect(await valueOf('gatehouse_model_time_per_output_token_seconds', labels, 'gatehouse_model_time_per_output_token_seconds_count')).toBe(1);
    // Not streamed: no first token to time.
    expect(await valueOf('gatehouse_model_time_to_first_token_seconds', labels, 'gatehouse_model_time_to_first_token_seconds_count')).toBe(0);
  });

  it('times a streamed answer to its first token', async () => {
    server.enqueue({ content: 'The fee is fifteen percent of the price.', usage: { promptTokens: 10, completionTokens: 9 } });
    const deltas: string[] = [];
    await gateway(['primary']).chat({ ...ask, onDelta: (d) => deltas.push(d) }, { tenantId: tenant, step: 'generate' });
    expect(deltas.length).toBeGreaterThan(1);
    const labels = { model: 'primary', tenant, step: 'generate' };
    expect(await valueOf('gatehouse_model_time_to_first_token_seconds', labels, 'gatehouse_model_time_to_first_token_seconds_count')).toBe(1);
    expect(await valueOf('gatehouse_model_time_to_first_token_seconds', labels, 'gatehouse_model_time_to_first_token_seconds_sum')).toBeGreaterThan(0);
  });

  it.each([
    ['a 429', { error: { status: 429, retryAfterSeconds: 1 } }, 'rate_limited'],
    ['a 500', { error: { status: 500 } }, 'server_error'],
    ['a malformed body', { malformed: 'invalid-json' as const }, 'malformed'],
  ])('counts %s as a failure of its kind of the model that failed, and the fallback as a success', async (_label, fault, kind) => {
    server.enqueue({ ...fault, match: { model: 'primary' } }, { content: 'from secondary', match: { model: 'secondary' } });
    await gateway(['primary', 'secondary']).chat(ask, { tenantId: tenant, step: 'generate' });
    expect(await valueOf('gatehouse_model_failures_total', { model: 'primary', tenant, kind })).toBe(1);
    expect(await valueOf('gatehouse_model_failures_total', { model: 'secondary', tenant })).toBe(0);
    expect(await valueOf('gatehouse_model_call_duration_seconds', { model: 'primary', tenant, outcome: kind }, 'gatehouse_model_call_duration_seconds_count')).toBe(1);
  });

  it.each([
    ['before any text (no finish reason)', { after: 0, how: 'end' as const }],
    ['after text reached the caller', { after: 3, how: 'drop' as const }],
  ])('counts a stream that broke %s as broken_stream', async (_label, breakStream) => {
    server.enqueue({ content: 'The fee is fifteen percent of the price.', breakStream, match: { model: 'primary' } }, { content: 'The whole answer.', match: { model: 'secondary' } });
    await gateway(['primary', 'secondary'])
      .chat({ ...ask, onDelta: () => undefined }, { tenantId: tenant, step: 'generate' })
      .catch(() => undefined);
    expect(await valueOf('gatehouse_model_failures_total', { model: 'primary', tenant, kind: 'broken_stream' })).toBe(1);
  });

  it("measures an approval's wait once, when it leaves pending", async () => {
    await services.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1)', [tenant]);
    const requestedAt = new Date(Date.now() - 90_000).toISOString();
    const approval: PendingApproval = {
      approvalId: 'apr_1',
      tool: 'issue_refund',
      arguments: { amount: 10 },
      argumentsHash: 'h',
      preview: { summary: 'refund $10', changes: {} },
      rationale: '',
      provenance: [],
      requestedAt,
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      requiredRole: 'approver',
      approvalsNeeded: 1,
      approvedBy: [],
      status: 'pending',
    };
    const taskId = uniqueId('task');
    await indexApproval(services.db, { tenantId: tenant, taskId, approval });
    await indexApproval(services.db, { tenantId: tenant, taskId, approval: { ...approval, status: 'approved', approvedBy: ['ann'] } });
    // Executed after approval: the wait ended at the decision, not counted again.
    await indexApproval(services.db, { tenantId: tenant, taskId, approval: { ...approval, status: 'executed', approvedBy: ['ann'] } });
    const labels = { tenant, tool: 'issue_refund' };
    expect(await valueOf('gatehouse_approval_wait_seconds', labels, 'gatehouse_approval_wait_seconds_count')).toBe(1);
    expect(await valueOf('gatehouse_approval_wait_seconds', { ...labels, status: 'approved' }, 'gatehouse_approval_wait_seconds_sum')).toBeGreaterThanOrEqual(90);
  });

  it("serves a standalone worker's registry on its own address, behind the token", async () => {
    server.enqueue({ content: 'ok', usage: { promptTokens: 3, completionTokens: 1 } });
    await gateway(['primary']).chat(ask, { tenantId: tenant, step: 'generate' });
    const http = await serveMetrics('127.0.0.1:0', 'worker-token-0123456789');
    try {
      const base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      expect((await fetch(`${base}/other`, { headers: { authorization: 'Bearer worker-token-0123456789' } })).status).toBe(404);
      const res = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer worker-token-0123456789' } });
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const line = (await res.text()).split('\n').find((l) => l.startsWith('gatehouse_model_tokens_total{') && l.includes(`tenant="${tenant}"`) && l.includes('kind="output"'));
      expect(line).toMatch(/ 1$/);
    } finally {
      http.close();
    }
  });
});
