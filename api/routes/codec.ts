// The remote codec endpoint for the Temporal Web UI and CLI: POST /codec/encode and
// /codec/decode in Temporal's codec-server JSON format ({ payloads: [{ metadata, data }] },
// base64 values), run through the same codecs as the API's Temporal client.
//
// Who may decode: every payload carries its tenant, authenticated with the ciphertext
// (infra/payload-codec.ts). A tenant's `payloads:decode` (or `admin`) principal decodes that
// tenant's payloads only; the deployment's `operator` decodes every tenant's and those of
// no tenant. What a caller encodes (a Signal typed into the UI) is labelled with their tenant.
//
// Authentication: `Authorization: Bearer <API key>` (the CLI), or, for the browser UI, which
// cannot send our key, a session cookie from the small login at GET/POST /codec/login.
// Sessions live in this process's memory for 8 hours: a restart (or another API replica)
// means logging in again.
import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { EncryptionCodec, PayloadCodecError, type DecodeScope } from '../../infra/payload-codec.js';
import { hasRole, requireRole, type Authenticator, type Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import type { ApiDeps } from '../route-deps.js';

const COOKIE = 'gh_codec';
const SESSION_MS = 8 * 60 * 60 * 1000;
const MAX_SESSIONS = 10_000;
const ALLOWED_HEADERS = 'content-type, authorization, x-namespace';

const payloadsBody = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), z.string()).nullish(),
      data: z.string().nullish(),
    }),
  ),
});
type JsonPayload = z.infer<typeof payloadsBody>['payloads'][number];

interface Session {
  keyId: string;
  expiresAt: number;
}

export const codecRoutes =
  (deps: ApiDeps, auth: Authenticator): FastifyPluginAsync =>
  async (app) => {
    const sessions = new Map<string, Session>();
    const origins = new Set(deps.config.temporal.uiOrigins);
    const codec = deps.temporal.options.loadedDataConverter.payloadCodecs.find((c): c is EncryptionCodec => c instanceof EncryptionCodec);
    if (!codec) throw new Error("the codec endpoint needs the API's Temporal client to use Gatehouse's EncryptionCodec");

    // The login form posts urlencoded; Fastify parses only JSON by default (this plugin's scope only).
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    /** CORS for the UI's origin only: credentials allowed, so never a wildcard. */
    function cors(req: FastifyRequest, reply: FastifyReply): void {
      const origin = req.headers.origin;
      reply.header('vary', 'Origin');
      if (!origin || !origins.has(origin)) return;
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-credentials', 'true');
    }

    async function principalFor(req: FastifyRequest): Promise<Principal> {
      if (req.headers.authorization) return auth.authenticate(req.headers.authorization);
      const sid = cookieValue(req.headers.cookie, COOKIE);
      const session = sid ? sessions.get(sid) : undefined;
      if (!sid || !session || session.expiresAt < Date.now()) {
        if (sid) sessions.delete(sid);
        throw new ApiError(401, 'unauthorized', 'sign in at /codec/login or send "Authorization: Bearer <api key>"');
      }
      // Re-read the key each time: a revoked key or a removed role ends its sessions at once.
      const principal = await auth.principalForKey(session.keyId);
      if (!principal) {
        sessions.delete(sid);
        throw new ApiError(401, 'unauthorized', 'the API key of this session was revoked; sign in again');
      }
      return principal;
    }

    async function authorize(req: FastifyRequest): Promise<DecodeScope> {
      const principal = await principalFor(req);
      const operator = hasRole(principal, 'operator');
      if (!operator) requireRole(principal, 'payloads:decode');
      const namespace = req.headers['x-namespace'];
      if (namespace !== undefined && namespace !== deps.config.temporal.namespace) {
        throw new ApiError(403, 'forbidden', `this codec serves namespace "${deps.config.temporal.namespace}" only`);
      }
      if (namespace === undefined) throw new ApiError(400, 'invalid_request', 'X-Namespace header required');
      return operator ? 'all' : { tenantId: principal.tenantId };
    }

    for (const op of ['encode', 'decode'] as const) {
      const url = `/codec/${op}`;
      app.options(url, { schema: { hide: true } }, async (req, reply) => {
        cors(req, reply);
        if (reply.hasHeader('access-control-allow-origin')) {
          reply.header('access-control-allow-methods', 'POST, OPTIONS');
          reply.header('access-control-allow-headers', ALLOWED_HEADERS);
          reply.header('access-control-max-age', '600');
        }
        return reply.code(204).send();
      });
      app.post(url, { schema: { hide: true } }, async (req, reply) => {
        cors(req, reply);
        const scope = await authorize(req);
        const parsed = payloadsBody.safeParse(req.body);
        // Never echo the body (it is the payloads): name the field only.
        if (!parsed.success) throw new ApiError(400, 'invalid_request', `body: expected { payloads: [{ metadata, data }] } (${parsed.error.issues[0]!.path.join('.')})`);
        let payloads = parsed.data.payloads.map(fromJson);
        try {
          payloads = op === 'encode' ? payloads.map((p) => codec.encrypt(p, scope === 'all' ? undefined : scope.tenantId)) : codec.decodeFor(payloads, scope);
        } catch (err) {
          if (err instanceof PayloadCodecError && /another tenant|no tenant/.test(err.message)) throw new ApiError(403, 'forbidden', err.message);
          if (err instanceof PayloadCodecError) throw new ApiError(400, 'undecodable_payload', err.message);
          throw err;
        }
        return reply.header('cache-control', 'no-store').send({ payloads: payloads.map(toJson) });
      });
    }

    app.get('/codec/login', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(loginPage()));

    app.post('/codec/login', { schema: { hide: true } }, async (req, reply) => {
      const apiKey = (req.body as { apiKey?: unknown } | undefined)?.apiKey;
      const html = !req.headers['content-type']?.includes('json');
      let principal: Principal;
      try {
        if (typeof apiKey !== 'string' || !apiKey) throw new ApiError(400, 'invalid_request', 'apiKey: required');
        principal = await auth.authenticate(`Bearer ${apiKey}`);
        if (principal.keyId.startsWith('oidc:')) throw new ApiError(400, 'invalid_request', 'apiKey: sign in here with an API key');
        if (!hasRole(principal, 'operator')) requireRole(principal, 'payloads:decode');
      } catch (err) {
        if (!html || !(err instanceof ApiError)) throw err;
        return reply.code(err.statusCode).type('text/html; charset=utf-8').send(loginPage(err.message));
      }
      const now = Date.now();
      if (sessions.size >= MAX_SESSIONS) for (const [id, s] of sessions) if (s.expiresAt < now) sessions.delete(id);
      if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
      const sid = randomBytes(32).toString('base64url');
      sessions.set(sid, { keyId: principal.keyId, expiresAt: now + SESSION_MS });
      req.log.info({ keyId: principal.keyId }, 'codec login');
      reply.header('set-cookie', sessionCookie(sid, SESSION_MS / 1000, req.protocol === 'https'));
      if (!html) return reply.code(204).send();
      return reply.type('text/html; charset=utf-8').send(loginPage(undefined, true));
    });

    app.post('/codec/logout', { schema: { hide: true } }, async (req, reply) => {
      const sid = cookieValue(req.headers.cookie, COOKIE);
      if (sid) sessions.delete(sid);
      return reply.header('set-cookie', sessionCookie('', 0, req.protocol === 'https')).code(204).send();
    });
  };

function fromJson(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v, 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): { metadata: Record<string, string>; data: string } {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) if (v) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=') || undefined;
  }
  return undefined;
}

/** Opaque id only; HttpOnly (no script reads it), Strict (no cross-site request carries it), Path=/codec. */
function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${COOKIE}=${value}; Path=/codec; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

function loginPage(error?: string, signedIn = false): string {
  const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = signedIn
    ? '<p>Signed in for 8 hours. In the Temporal UI, open the codec server settings and enable “Include cross-origin credentials”.</p>'
    : `${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/codec/login">
  <label>API key with the payloads:decode (or admin) role<br><input type="password" name="apiKey" autocomplete="off" required size="60"></label>
  <button type="submit">Sign in</button>
</form>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gatehouse codec login</title></head>
<body><h1>Decode payloads in the Temporal UI</h1>
${body}
</body></html>
`;
}
