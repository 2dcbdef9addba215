// The real Jaeger (all-in-one: collector with its OTLP receiver, in-memory storage, query API)
// on free loopback ports, for the tracing test and the observability benchmark. The binary is
// infra/tools.ts's (`npx tsx scripts/setup-tools.ts jaeger`), or JAEGER_BIN.
import { spawn } from 'node:child_process';
import { findJaeger } from '../../infra/tools.js';
import { freePort } from './free-port.js';

export interface JaegerServer {
  /** OTEL_EXPORTER_OTLP_ENDPOINT for it (OTLP over HTTP). */
  otlpEndpoint: string;
  /** The query API and UI, e.g. http://127.0.0.1:16686. */
  queryUrl: string;
  /** The last lines it wrote, for a failure's message. */
  log(): string;
  stop(): Promise<void>;
}

export async function jaegerBinary(): Promise<string | undefined> {
  return process.env.JAEGER_BIN ?? (await findJaeger());
}

export async function startJaeger(binary: string): Promise<JaegerServer> {
  // Every port it would open, on loopback and free: two copies never collide, nor does a developer's own Jaeger.
  const [otlpHttp, otlpGrpc, queryHttp, queryGrpc, admin, collectorHttp, collectorGrpc] = await Promise.all(Array.from({ length: 7 }, freePort));
  const child = spawn(
    binary,
    [
      `--collector.otlp.http.host-port=127.0.0.1:${otlpHttp}`,
      `--collector.otlp.grpc.host-port=127.0.0.1:${otlpGrpc}`,
      `--query.http-server.host-port=127.0.0.1:${queryHttp}`,
      `--query.grpc-server.host-port=127.0.0.1:${queryGrpc}`,
      `--admin.http.host-port=127.0.0.1:${admin}`,
      `--collector.http-server.host-port=127.0.0.1:${collectorHttp}`,
      `--collector.grpc-server.host-port=127.0.0.1:${collectorGrpc}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SPAN_STORAGE_TYPE: 'memory' } },
  );
  let log = '';
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-4_000));
  child.stderr?.on('data', keep);
  child.stdout?.on('data', keep);
  const queryUrl = `http://127.0.0.1:${queryHttp}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
  };
  for (let i = 0; ; i++) {
    if (await fetch(`${queryUrl}/api/services`).then((r) => r.ok, () => false)) break;
    if (i > 300 || child.exitCode !== null) {
      await stop();
      throw new Error(`Jaeger did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { otlpEndpoint: `http://127.0.0.1:${otlpHttp}`, queryUrl, log: () => log, stop };
}
