// The API on a port for e2e tests that only need HTTP: real Fastify, a real worker on the
// shared Temporal dev server, PGlite, the scripted model, and two tenants with admin keys.
import { createApiKey } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import type { Services } from '../../infra/services.js';
import type { Tracing } from '../../infra/tracing.js';
import type { ToolDefinition } from '../../activities/tools/types.js';
import { startTestWorker, testConfig, testLog, testServices, uniqueId, type TestWorker } from './harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from './scripted-model-server.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
}

export interface TestApi {
  base: string;
  services: Services;
  worker: TestWorker;
  /** The scripted model behind the gateway (registry model `primary`). */
  model: ScriptedModelServer;
  tenant: string;
  otherTenant: string;
  keys: { admin: string; other: string };
  call(method: string, path: string, opts?: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** `env` adds to (or overrides) the harness's configuration, e.g. `{ GATEHOUSE_CACHE: 'exact' }`; `tracing`, the process's tracer (infra/tracing.ts) for the worker and client. */
export async function startTestApi(env: Record<string, string> = {}, opts: { tracing?: Tracing; tools?: ToolDefinition[] } = {}): Promise<TestApi> {
  const model: ScriptedModelServer = await startScriptedModelServer({ models: ['primary'] });
  const config = testConfig({ OPENAI_BASE_URL: model.baseUrl, GATEHOUSE_CHAT_MODEL: 'primary', ...env });
  const services = await testServices('pglite', config);
  const worker = await startTestWorker(services, config, opts.tools, testLog, { tracing: opts.tracing });
  const app = await buildApi({
    db: services.db,
    keyRing: services.keyRing,
    temporal: worker.client,
    config: { ...config, temporal: { ...config.temporal, taskQueue: worker.taskQueue } },
    log: testLog,
    // As under `npm start`: the API shows the breakers of the worker in its process.
    gateway: services.gateway,
    embedder: services.embedder,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const tenant = uniqueId('acme');
  const otherTenant = uniqueId('globex');
  const keys = {
    admin: (await createApiKey(services.db, { tenantId: tenant, roles: ['admin'] })).key,
    other: (await createApiKey(services.db, { tenantId: otherTenant, roles: ['admin'] })).key,
  };
  return {
    base,
    services,
    worker,
    model,
    tenant,
    otherTenant,
    keys,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
      if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}${path}`, { method, headers, body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.status, headers: res.headers, json };
    },
    async close() {
      await app.close();
      await worker.stop();
      await model.close();
      await services.close();
    },
  };
}
