// Secrets Gatehouse generates for itself in the embedded mode (the dev admin key, the embedded
// database's password): created once, readable by the owner only, the same value on every start.
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The secret kept in `file`, created by `generate` on first use (mode 0600). */
export async function readOrCreateSecret(file: string, generate: () => string): Promise<string> {
  const existing = await readSecret(file);
  if (existing) return existing;
  await mkdir(path.dirname(file), { recursive: true });
  try {
    // 'wx': two processes starting at once must not each write a different secret.
    await writeFile(file, `${generate()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const created = await readSecret(file);
  if (!created) throw new Error(`${file}: empty`);
  return created;
}

async function readSecret(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // A file from an older start (or a copy) may be readable by others: tighten it.
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  return text.trim() || undefined;
}
