// The demo corpus (the manuals and policies of Inkwell Printers, a company we made up) is
// ingested on first start through the API itself, so a question works right after
// `npm start` and the seed takes the same path as any user's documents.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';

export const DEMO_CORPUS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');

export interface DemoDocument {
  id: string;
  title: string;
  text: string;
  source: string;
  metadata: Record<string, unknown>;
}

export async function loadDemoCorpus(): Promise<DemoDocument[]> {
  const files = (await readdir(DEMO_CORPUS_DIR)).filter((f) => f.endsWith('.md')).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(path.join(DEMO_CORPUS_DIR, file), 'utf8');
      const id = file.replace(/\.md$/, '');
      return {
        id,
        title: /^#\s+(.+)$/m.exec(text)?.[1]?.trim() ?? id,
        text,
        source: `demo://inkwell-printers/${file}`,
        metadata: { corpus: 'inkwell-demo' },
      };
    }),
  );
}

interface Injectable {
  inject(opts: { method: 'POST'; url: string; headers: Record<string, string>; payload: unknown }): Promise<{ statusCode: number; json(): unknown }>;
}

export async function seedDemoCorpus(api: Injectable, apiKey: string, db: Db, log: Logger): Promise<void> {
  const { rows } = await db.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'demo_seeded'`);
  if (rows[0]) return;
  const documents = await loadDemoCorpus();
  const res = await api.inject({
    method: 'POST',
    url: '/v1/documents',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    payload: { collection: 'default', documents },
  });
  if (res.statusCode !== 202) {
    log.warn({ status: res.statusCode, body: res.json() }, 'demo corpus could not be ingested');
    return;
  }
  const { ingestionId } = res.json() as { ingestionId: string };
  await db.query(`INSERT INTO settings (key, value) VALUES ('demo_seeded', $1) ON CONFLICT (key) DO NOTHING`, [ingestionId]);
  log.info({ ingestionId, documents: documents.length }, 'demo corpus ingestion started (collection "default")');
}
