// The approver's and operator's console: a page of plain HTML, CSS and ES modules (api/console/)
// served as they are, no build step. The page itself is public and holds nothing: it signs in
// with an API key kept in the tab's sessionStorage and calls the JSON API with it, so every piece
// of data it shows passes the same auth, roles and PII reveal as any other caller's.
//
// The files are read once, at start, from the one directory; only those names are served, so no
// path a request makes up can reach anything else. The Content-Security-Policy allows this
// origin's scripts, styles and API calls and nothing inline: model and tool text the page renders
// (always as text, never as markup) cannot run even if a bug let it in.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../errors.js';

const CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // The page is small and changes with the service: always revalidate, never serve a stale app.
  'cache-control': 'no-cache',
};

interface ConsoleFile {
  body: Buffer;
  type: string;
}

async function loadConsoleFiles(): Promise<Map<string, ConsoleFile>> {
  const files = new Map<string, ConsoleFile>();
  for (const name of await readdir(CONSOLE_DIR)) {
    const type = CONTENT_TYPES[path.extname(name)];
    if (type) files.set(name, { body: await readFile(path.join(CONSOLE_DIR, name)), type });
  }
  if (!files.has('index.html')) throw new Error(`the console's index.html is missing from ${CONSOLE_DIR}`);
  return files;
}

const assetParams = z.object({ file: z.string().max(100) });

export const consoleRoutes = (): FastifyPluginAsyncZod => async (app) => {
  const files = await loadConsoleFiles();
  const index = files.get('index.html')!;

  app.get('/console', { schema: { hide: true } }, async (_req, reply) => reply.headers(SECURITY_HEADERS).type(index.type).send(index.body));
  app.get('/console/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console', 301));
  app.get('/console/:file', { schema: { hide: true, params: assetParams } }, async (req, reply) => {
    const file = files.get(req.params.file);
    if (!file || req.params.file === 'index.html') throw notFound(`console file ${req.params.file}`);
    return reply.headers(SECURITY_HEADERS).type(file.type).send(file.body);
  });
};
