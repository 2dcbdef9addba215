// Gatehouse's own Prometheus metrics: one registry per process, every metric declared here once.
// Activities (the gateway, the guards, the approvals index) and the API count into it; GET /metrics
// (api/routes/metrics.ts) writes it out. Workflows cannot touch it (the sandbox), so what only a
// workflow knows is counted where an activity or the API sees it, or read at scrape time from
// where it is stored (approvals pending: the approvals table; tasks by status: Temporal's
// visibility).
//
// Labels are bounded: model (the registry's names), provider, tenant (tenants are few; their ids
// are not secrets, but they are the deployment's customers, so /metrics is not for the public),
// step and route (names from code and the tenant's routing document), outcome and kind (enums).
// Never a user id, a task id or any text. prompt_version is `name@version` of a versioned prompt
// (activities/prompts/): a dozen names, and the versions a tenant's admins store.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const metricsRegistry = new Registry();
// Node's own (CPU, memory, event loop lag, GC), as gatehouse_process_cpu_seconds_total and so on.
collectDefaultMetrics({ register: metricsRegistry, prefix: 'gatehouse_' });

const registers = [metricsRegistry];

/** Model calls take from milliseconds (the offline model, a cache) to a minute (a long answer). */
const CALL_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const metrics = {
  tasksStarted: new Counter({
    name: 'gatehouse_tasks_started_total',
    help: 'Tasks started through the API, by type and tenant (an idempotent retry is not counted again).',
    labelNames: ['type', 'tenant'] as const,
    registers,
  }),
  tasks: new Gauge({
    name: 'gatehouse_tasks',
    help: "Tasks by type and Temporal execution status (running, completed, failed, …), from Temporal's visibility at scrape time: finished tasks are the closed statuses.",
    labelNames: ['type', 'status'] as const,
    registers,
  }),
  modelCallDuration: new Histogram({
    name: 'gatehouse_model_call_duration_seconds',
    help: 'One attempt at one model deployment, from request to the last byte, by outcome.',
    labelNames: ['model', 'provider', 'outcome', 'tenant', 'step', 'route', 'prompt_version'] as const,
    buckets: CALL_SECONDS,
    registers,
  }),
  timeToFirstToken: new Histogram({
    name: 'gatehouse_model_time_to_first_token_seconds',
    help: 'A streamed answer: from the request to its first piece of text.',
    labelNames: ['model', 'tenant', 'step', 'route', 'prompt_version'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers,
  }),
  timePerOutputToken: new Histogram({
    name: 'gatehouse_model_time_per_output_token_seconds',
    help: 'A successful call: generation time per output token (after the first token when streamed, else the whole call).',
    labelNames: ['model', 'tenant', 'step', 'route', 'prompt_version'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers,
  }),
  tokens: new Counter({
    name: 'gatehouse_model_tokens_total',
    help: 'Tokens of successful model calls by kind: input (all of it, cached included), output, cached_read, cache_write.',
    labelNames: ['model', 'kind', 'tenant', 'step', 'route', 'prompt_version'] as const,
    registers,
  }),
  cost: new Counter({
    name: 'gatehouse_model_cost_usd_total',
    help: "What successful model calls cost, at the registry's prices, in US dollars.",
    labelNames: ['model', 'tenant', 'step', 'route', 'prompt_version'] as const,
    registers,
  }),
  modelFailures: new Counter({
    name: 'gatehouse_model_failures_total',
    help: 'Failed or skipped model attempts by kind: rate_limited (429), server_error (5xx), timeout, unavailable, malformed, broken_stream, empty (an answer of no text), context_overflow, unsupported, circuit_open, rejected.',
    labelNames: ['model', 'kind', 'tenant', 'step', 'route', 'prompt_version'] as const,
    registers,
  }),
  gatewayRefusals: new Counter({
    name: 'gatehouse_gateway_refusals_total',
    help: "Model calls the gateway's limits refused before calling: budget (BudgetExceeded), rate (RateLimited), access (ModelNotAllowed). An agent task pauses on each budget or rate refusal.",
    labelNames: ['reason', 'tenant', 'step'] as const,
    registers,
  }),
  guardrailVerdicts: new Counter({
    name: 'gatehouse_guardrail_verdicts_total',
    help: "Guardrail checks by stage (input, output, context), check and verdict (pass, flag, fail; an output check's rows as they report).",
    labelNames: ['stage', 'check', 'verdict', 'tenant'] as const,
    registers,
  }),
  cacheOutcomes: new Counter({
    name: 'gatehouse_cache_outcomes_total',
    help: 'What a cache did with a lookup, by layer (model, retrieval, tool, semantic: the layers of GATEHOUSE_CACHE) and outcome (hit, miss, stored, uncacheable, shadow).',
    labelNames: ['layer', 'outcome', 'tenant'] as const,
    registers,
  }),
  feedback: new Counter({
    name: 'gatehouse_feedback_total',
    help: "Feedback on answers (POST /v1/tasks/{id}/feedback) by the answer's prompt version (name@version of the prompt that wrote it), model and verdict (positive: 4–5 or up, neutral: 3, negative: 1–2 or down).",
    labelNames: ['prompt_version', 'model', 'verdict', 'tenant'] as const,
    registers,
  }),
  feedbackScore: new Histogram({
    name: 'gatehouse_feedback_score',
    help: 'Feedback scores normalised to [0, 1] (a 1–5 score: (s − 1) / 4; thumbs: 0 or 1), by prompt version and model.',
    labelNames: ['prompt_version', 'model', 'tenant'] as const,
    buckets: [0, 0.25, 0.5, 0.75, 1],
    registers,
  }),
  approvalsPending: new Gauge({
    name: 'gatehouse_approvals_pending',
    help: 'Approvals waiting for a decision, by tenant and tool (extend_budget: tasks paused on a budget), from the approvals table at scrape time.',
    labelNames: ['tenant', 'tool'] as const,
    registers,
  }),
  approvalWait: new Histogram({
    name: 'gatehouse_approval_wait_seconds',
    help: 'From an approval being requested to its decision (approved, rejected, expired, superseded).',
    labelNames: ['tenant', 'tool', 'status'] as const,
    buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600],
    registers,
  }),
};

/** Label values are strings; an unknown one is '' (Prometheus treats an empty label as absent). */
export function label(value: string | undefined | null): string {
  return value ?? '';
}

/** A cache lookup's outcome, by the layer's name in GATEHOUSE_CACHE (model, retrieval, tool, semantic). */
export function countCacheOutcome(layer: 'model' | 'retrieval' | 'tool' | 'semantic', outcome: string, tenantId: string | undefined): void {
  metrics.cacheOutcomes.inc({ layer, outcome, tenant: label(tenantId) });
}

/** Whether an Authorization header carries `token` as its bearer token (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * A standalone worker's metrics (workers/main.ts, GATEHOUSE_WORKER_METRICS_ADDRESS): the same
 * registry at host:port/metrics, behind the same token. A worker serves no API, and its gateway,
 * guards and caches count into its own process's registry, so Prometheus scrapes each worker.
 */
export async function serveMetrics(address: string, token: string | undefined): Promise<Server> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics' || req.method !== 'GET') return void res.writeHead(404).end();
    if (token && !bearerMatches(req.headers.authorization, token)) return void res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    metricsRegistry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}
