/**
 * A scripted model server for tests, speaking OpenAI's, Anthropic's and Gemini's wire formats.
 *
 * The product talks to models through each provider's real client (`openai`, `@anthropic-ai/sdk`,
 * `@google/genai`), so tests point that client at this server (`new OpenAI({ baseURL:
 * server.baseUrl })`, `new Anthropic({ baseURL: server.origin })`, Gemini's `httpOptions: {
 * baseUrl: server.origin }`) instead of mocking it: request building, SSE parsing, retries,
 * timeouts and error mapping are all exercised for real over HTTP.
 *
 * Routes: POST /v1/chat/completions (plain and streaming), POST /v1/embeddings, GET /v1/models[/id];
 * and, for the other providers' clients, Anthropic's POST /v1/messages (plain and SSE) and
 * Gemini's POST /v1beta/models/{model}:generateContent and :streamGenerateContent?alt=sse.
 * Replies come, in order of precedence, from the FIFO script (`enqueue`), a custom responder
 * (`onChat` / `onEmbeddings`), or a deterministic default. A chat reply is scripted once and
 * answers whichever wire format asked: each request is read into the OpenAI shape responders
 * see, and the reply is written in the asker's format.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionTokenLogprob,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { Model } from 'openai/resources/models';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/** The request body as the `openai` client sends it. Only `messages` is checked at runtime. */
export type ChatRequestBody = ChatCompletionCreateParams;

export type ScriptPath = 'chat' | 'embeddings';
export type FinishReason = ChatCompletion.Choice['finish_reason'];

/** Restricts a queued step to the requests it should answer; other requests skip over it. */
export interface StepMatch {
  path?: ScriptPath;
  model?: string;
}

export interface ScriptedToolCall {
  id?: string;
  name: string;
  /** An object is JSON-encoded; a string is sent verbatim, so tests can send malformed JSON. */
  arguments: Record<string, unknown> | string;
}

/** A constant log-probability for every token, or one per token (the last value repeats). */
export type LogprobScript = number | number[];

/** One choice of an n > 1 reply, when choices need their own log-probabilities. */
export interface ScriptedChoice {
  content: string;
  logprobs?: LogprobScript;
}

export interface ChatReply {
  content?: string | null;
  /** One entry per choice when the request asks for n > 1; entries are reused cyclically. */
  contents?: Array<string | ScriptedChoice>;
  toolCalls?: ScriptedToolCall[];
  /**
   * Overrides the estimates (ceil(chars / 4)); total_tokens is always their sum. promptTokens
   * counts every input token, the cached parts included, as OpenAI's prompt_tokens does; each
   * wire format reports the cached parts its own way (Anthropic's input_tokens excludes them).
   * cacheWriteTokens is Anthropic's only; the others have no per-call cache writes.
   */
  usage?: { promptTokens?: number; completionTokens?: number; cachedReadTokens?: number; cacheWriteTokens?: number };
  /** Defaults to `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: FinishReason;
  /** Only reported when the request sets `logprobs: true`; defaults to DEFAULT_LOGPROB. */
  logprobs?: LogprobScript;
  delayMs?: number;
  /** Defaults to echoing the requested model. */
  model?: string;
  /**
   * Streaming (OpenAI's wire format) only, a stream that breaks mid-answer: `after` text chunks
   * are sent, then the connection is dropped (`drop`) or closed cleanly with neither a finish
   * reason nor [DONE] (`end`).
   */
  breakStream?: { after: number; how: 'drop' | 'end' };
}

export interface ErrorReply {
  error: {
    status: number;
    message?: string;
    /** Defaults follow OpenAI: invalid_request_error, requests (429), server_error (5xx). */
    type?: string;
    code?: string | null;
    /** Sent as the `retry-after` header (fractions allowed; the client honours them). */
    retryAfterSeconds?: number;
  };
}

/** Waits, then answers as if this step had not been queued (responder or default). */
export interface HangStep {
  hangMs: number;
}

/**
 * - invalid-json: 200 with a truncated JSON body (or an unparsable SSE frame when streaming).
 * - missing-choices: 200 with a well-formed body lacking `choices` (`data` for embeddings).
 * - close-socket: the connection is destroyed (after one chunk when streaming).
 */
export type MalformedKind = 'invalid-json' | 'missing-choices' | 'close-socket';
export interface MalformedReply {
  malformed: MalformedKind;
}

/** What a chat responder may return: a reply or a fault. */
export type ChatOutcome = ChatReply | ErrorReply | MalformedReply;

/** Chat replies only ever answer chat requests; faults answer chat and embeddings requests. */
export type ScriptStep = (ChatReply | ErrorReply | HangStep | MalformedReply) & { match?: StepMatch };

export type ChatResponder = (req: ChatRequestBody) => ChatOutcome | Promise<ChatOutcome>;
export type EmbeddingsFn = (texts: string[], dims: number) => number[][];

/** Whose wire format a chat request came in. */
export type WireFormat = 'openai' | 'anthropic' | 'gemini';

export interface RecordedRequest {
  method: string;
  /** URL path, e.g. `/v1/chat/completions`. */
  path: string;
  kind: ScriptPath | 'models' | 'other';
  /** Set on chat requests. */
  wire?: WireFormat;
  model?: string;
  /** Parsed JSON body as the client sent it (its own wire format); undefined when there was none or it did not parse. */
  body: unknown;
  headers: IncomingHttpHeaders;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface ScriptedModelServer {
  /** e.g. http://127.0.0.1:PORT/v1 — pass to `new OpenAI({ baseURL })`. */
  readonly baseUrl: string;
  /** e.g. http://127.0.0.1:PORT — pass to `new Anthropic({ baseURL })` or Gemini's `httpOptions.baseUrl`. */
  readonly origin: string;
  /** Every request received, including rejected ones, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Steps still queued; assert 0 to check a script was fully consumed. */
  readonly pendingSteps: number;
  enqueue(...steps: ScriptStep[]): void;
  /** Answers chat requests no queued step matched; `undefined` restores the default. */
  onChat(responder: ChatResponder | undefined): void;
  /** Replaces the hashed embeddings; `undefined` restores them. */
  onEmbeddings(fn: EmbeddingsFn | undefined): void;
  /** Clears the queue, the recorded requests and custom responders. */
  reset(): void;
  close(): Promise<void>;
}

export interface ScriptedModelServerOptions {
  /** Defaults to 0 (an ephemeral port). */
  port?: number;
  /** Listed by GET /v1/models. */
  models?: string[];
  /** Defaults to 384; a request's `dimensions` field wins. */
  embeddingDimensions?: number;
  /** When set, requests must carry it (`Authorization: Bearer`, Anthropic's `x-api-key` or Gemini's `x-goog-api-key`), else 401. */
  apiKey?: string;
}

export const DEFAULT_MODELS = ['scripted-chat', 'scripted-embedding'];
export const DEFAULT_EMBEDDING_DIMENSIONS = 384;
export const DEFAULT_LOGPROB = -0.25;

export async function startScriptedModelServer(opts: ScriptedModelServerOptions = {}): Promise<ScriptedModelServer> {
  const server = new ScriptedModelServerImpl(opts);
  await server.listen(opts.port ?? 0);
  return server;
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

const HOST = '127.0.0.1';

/** Rejections the handlers raise on purpose; anything else becomes a 500 naming the bug. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

class ScriptedModelServerImpl implements ScriptedModelServer {
  baseUrl = '';
  origin = '';
  readonly requests: RecordedRequest[] = [];
  private readonly queue: ScriptStep[] = [];
  private chatResponder: ChatResponder | undefined;
  private embeddingsFn: EmbeddingsFn | undefined;
  private readonly http: Server;
  private seq = 0;

  constructor(private readonly opts: ScriptedModelServerOptions) {
    this.http = createServer((req, res) => void this.handle(req, res));
  }

  get pendingSteps(): number {
    return this.queue.length;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, HOST, () => resolve());
    });
    const { port: actual } = this.http.address() as AddressInfo;
    this.origin = `http://${HOST}:${actual}`;
    this.baseUrl = `${this.origin}/v1`;
  }

  enqueue(...steps: ScriptStep[]): void {
    for (const step of steps) {
      // A chat reply can never answer an embeddings request; fail at the call site, not later.
      if (isChatReply(step) && step.match?.path === 'embeddings') {
        throw new Error('a chat reply step cannot match the embeddings path');
      }
    }
    this.queue.push(...steps);
  }

  onChat(responder: ChatResponder | undefined): void {
    this.chatResponder = responder;
  }

  onEmbeddings(fn: EmbeddingsFn | undefined): void {
    this.embeddingsFn = fn;
  }

  reset(): void {
    this.queue.length = 0;
    // In place, so references tests took to `requests` stay live.
    this.requests.length = 0;
    this.chatResponder = undefined;
    this.embeddingsFn = undefined;
  }

  async close(): Promise<void> {
    // Destroys keep-alive and hanging connections too: their 'close' aborts any pending pause, so
    // close() returns at once instead of waiting out a scripted hang.
    this.http.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.http.close((err) => (err ? reject(err) : resolve())));
  }

  // --- request plumbing ------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController();
    // 'close' before the response finished means the client went away (its timeout fired) or the
    // server is closing; either way a scripted hang or delay should stop waiting.
    res.on('close', () => controller.abort());
    try {
      await this.route(req, res, controller.signal);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
      } else if (err instanceof HttpError) {
        sendError(res, { status: err.status, message: err.message });
      } else {
        // Most likely a throwing responder: surface it to the test through the client's error.
        sendError(res, { status: 500, message: `scripted server failure: ${String(err)}` });
      }
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const kind = routeKind(method, path);
    const wire = kind === 'chat' ? wireOf(path) : undefined;
    const raw = await readBody(req);
    const body = parseJson(raw);
    const model = wire === 'gemini' ? geminiModelOf(path) : modelOf(body);
    this.requests.push({ method, path, kind, ...(wire ? { wire } : {}), model, body, headers: req.headers, at: Date.now() });

    if (!this.authorized(req)) {
      sendError(res, { status: 401, message: 'Incorrect API key provided.', code: 'invalid_api_key' }, wire);
      return;
    }
    if (raw.length > 0 && body === undefined) throw new HttpError(400, 'request body is not valid JSON');

    switch (kind) {
      case 'chat':
        return this.handleChat(res, readChatRequest(wire ?? 'openai', body, path), signal);
      case 'embeddings':
        return this.handleEmbeddings(res, asEmbeddingsBody(body), signal);
      case 'models':
        return this.handleModels(res, path);
      case 'other':
        throw new HttpError(404, `no route for ${method} ${path}`);
    }
  }

  private authorized(req: IncomingMessage): boolean {
    const key = this.opts.apiKey;
    return key === undefined || req.headers.authorization === `Bearer ${key}` || req.headers['x-api-key'] === key || req.headers['x-goog-api-key'] === key;
  }

  /** The first queued step (FIFO) whose match accepts this request; it is consumed. */
  private takeStep(path: ScriptPath, model: string | undefined): ScriptStep | undefined {
    const index = this.queue.findIndex((step) => stepMatches(step, path, model));
    return index < 0 ? undefined : this.queue.splice(index, 1)[0];
  }

  private nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}-scripted-${this.seq}`;
  }

  // --- chat ------------------------------------------------------------------------------------

  private async handleChat(res: ServerResponse, chat: ChatRequestRead, signal: AbortSignal): Promise<void> {
    const { body, wire, streaming } = chat;
    let outcome: ScriptStep | ChatOutcome = this.takeStep('chat', body.model) ?? (await this.respondToChat(body));
    if ('hangMs' in outcome) {
      if (!(await pause(outcome.hangMs, signal))) return;
      outcome = await this.respondToChat(body);
    }
    if ('error' in outcome) return sendError(res, outcome.error, wire);
    if ('malformed' in outcome) return this.sendMalformed(res, outcome.malformed, 'chat', streaming, body.model, wire);
    if (outcome.delayMs !== undefined && !(await pause(outcome.delayMs, signal))) return;

    const plan = this.planCompletion(body, outcome);
    if (wire === 'anthropic') {
      const message = toAnthropicMessage(plan, chat.forcedTool);
      if (streaming) writeAnthropicStream(res, message);
      else sendJson(res, 200, message);
    } else if (wire === 'gemini') {
      if (streaming) writeGeminiStream(res, plan);
      else sendJson(res, 200, toGeminiResponse(plan));
    } else if (streaming && outcome.breakStream) {
      writeBrokenStream(res, plan, outcome.breakStream);
    } else if (streaming) {
      writeStream(res, plan, body.stream_options?.include_usage === true);
    } else {
      sendJson(res, 200, toCompletion(plan));
    }
  }

  private async respondToChat(body: ChatRequestBody): Promise<ChatOutcome> {
    return this.chatResponder ? this.chatResponder(body) : defaultChatReply(body);
  }

  /** Resolves script defaults once, so the plain and streaming encodings cannot disagree. */
  private planCompletion(body: ChatRequestBody, reply: ChatReply): CompletionPlan {
    const id = this.nextId('chatcmpl');
    const n = Math.max(1, body.n ?? 1);
    const choices = Array.from({ length: n }, (_, index) => planChoice(reply, index, id));
    const completionChars = choices.reduce(
      (sum, c) => sum + (c.content?.length ?? 0) + c.toolCalls.reduce((s, t) => s + t.name.length + t.arguments.length, 0),
      0,
    );
    const promptTokens = reply.usage?.promptTokens ?? estimateTokens(promptText(body));
    const completionTokens = reply.usage?.completionTokens ?? estimateTokens(completionChars);
    const cachedReadTokens = reply.usage?.cachedReadTokens ?? 0;
    return {
      id,
      created: Math.floor(Date.now() / 1000),
      model: reply.model ?? body.model,
      choices,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        ...(cachedReadTokens ? { prompt_tokens_details: { cached_tokens: cachedReadTokens } } : {}),
      },
      cache: { readTokens: cachedReadTokens, writeTokens: reply.usage?.cacheWriteTokens ?? 0 },
      logprobs: body.logprobs === true ? { topK: body.top_logprobs ?? 0 } : undefined,
    };
  }

  // --- embeddings ------------------------------------------------------------------------------

  private async handleEmbeddings(res: ServerResponse, body: EmbeddingsBody, signal: AbortSignal): Promise<void> {
    const step = this.takeStep('embeddings', body.model);
    if (step && 'hangMs' in step && !(await pause(step.hangMs, signal))) return;
    if (step && 'error' in step) return sendError(res, step.error);
    if (step && 'malformed' in step) return this.sendMalformed(res, step.malformed, 'embeddings', false, body.model);

    const dims = body.dimensions ?? this.opts.embeddingDimensions ?? DEFAULT_EMBEDDING_DIMENSIONS;
    const vectors = this.embeddingsFn ? this.embeddingsFn(body.texts, dims) : body.texts.map((t) => hashedEmbedding(t, dims));
    if (vectors.length !== body.texts.length) {
      throw new Error(`onEmbeddings returned ${vectors.length} vectors for ${body.texts.length} inputs`);
    }
    const promptTokens = body.texts.reduce((sum, t) => sum + estimateTokens(t), 0);
    sendJson(res, 200, {
      object: 'list',
      model: body.model,
      data: vectors.map((vector, index) => ({
        object: 'embedding',
        index,
        // The openai client asks for base64 unless the caller chose a format, then decodes Float32s.
        embedding: body.encodingFormat === 'base64' ? float32Base64(vector) : vector,
      })),
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  }

  // --- models ----------------------------------------------------------------------------------

  private handleModels(res: ServerResponse, path: string): void {
    const models: Model[] = (this.opts.models ?? DEFAULT_MODELS).map((id) => ({
      id,
      object: 'model',
      created: 0,
      owned_by: 'scripted-model-server',
    }));
    const wanted = path.startsWith('/v1/models/') ? decodeURIComponent(path.slice('/v1/models/'.length)) : undefined;
    if (wanted === undefined) return sendJson(res, 200, { object: 'list', data: models });
    const model = models.find((m) => m.id === wanted);
    if (!model) throw new HttpError(404, `The model '${wanted}' does not exist`);
    sendJson(res, 200, model);
  }

  // --- faults ----------------------------------------------------------------------------------

  private sendMalformed(res: ServerResponse, kind: MalformedKind, path: ScriptPath, streaming: boolean, model: string, wire: WireFormat = 'openai'): void {
    if (wire !== 'openai') return this.sendMalformedOtherWire(res, kind, streaming, model, wire);
    if (kind === 'close-socket') {
      if (!streaming) {
        res.socket?.destroy();
        return;
      }
      // Mid-stream failure: the client has already started consuming when the connection drops.
      res.writeHead(200, SSE_HEADERS);
      res.write(sseFrame(chunkOf(this.nextId('chatcmpl'), model, [roleDelta(0, '')])), () => res.socket?.destroy());
      return;
    }
    if (streaming) {
      res.writeHead(200, SSE_HEADERS);
      const frame = kind === 'invalid-json'
        ? 'data: {"id": "chatcmpl-broken", "choices": [\n\n'
        : sseFrame({ id: this.nextId('chatcmpl'), object: 'chat.completion.chunk', model });
      res.write(frame);
      res.end(sseFrame('[DONE]'));
      return;
    }
    if (kind === 'invalid-json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "broken", "choices": [');
      return;
    }
    const created = Math.floor(Date.now() / 1000);
    const withoutChoices = path === 'chat'
      ? { id: this.nextId('chatcmpl'), object: 'chat.completion', created, model }
      : { object: 'list', model };
    sendJson(res, 200, withoutChoices);
  }

  /** The same faults in Anthropic's and Gemini's formats: a body without content, a stream cut short. */
  private sendMalformedOtherWire(res: ServerResponse, kind: MalformedKind, streaming: boolean, model: string, wire: 'anthropic' | 'gemini'): void {
    const started = wire === 'anthropic'
      ? anthropicEvent('message_start', { type: 'message_start', message: { ...anthropicMessageShell(this.nextId('msg'), model), content: [] } })
      : sseFrame({ candidates: [{ content: { role: 'model', parts: [{ text: 'cut ' }] }, index: 0 }] });
    if (kind === 'close-socket') {
      if (!streaming) {
        res.socket?.destroy();
        return;
      }
      res.writeHead(200, SSE_HEADERS);
      res.write(started, () => res.socket?.destroy());
      return;
    }
    if (streaming) {
      res.writeHead(200, SSE_HEADERS);
      // invalid-json: an unparsable frame; missing-choices: a stream that ends without finishing.
      res.end(kind === 'invalid-json' ? (wire === 'anthropic' ? 'event: message_start\ndata: {"type": "message_start", "message": {\n\n' : 'data: {"candidates": [\n\n') : started);
      return;
    }
    if (kind === 'invalid-json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(wire === 'anthropic' ? '{"id": "broken", "content": [' : '{"candidates": [');
      return;
    }
    sendJson(res, 200, wire === 'anthropic' ? { id: this.nextId('msg'), type: 'message', role: 'assistant', model } : { modelVersion: model });
  }
}

// ---------------------------------------------------------------------------------------------
// Routing and request parsing
// ---------------------------------------------------------------------------------------------

function routeKind(method: string, path: string): RecordedRequest['kind'] {
  if (method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/messages' || GEMINI_PATH.test(path))) return 'chat';
  if (method === 'POST' && path === '/v1/embeddings') return 'embeddings';
  if (method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/'))) return 'models';
  return 'other';
}

const GEMINI_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

function wireOf(path: string): WireFormat {
  if (path === '/v1/messages') return 'anthropic';
  return GEMINI_PATH.test(path) ? 'gemini' : 'openai';
}

function geminiModelOf(path: string): string | undefined {
  const name = GEMINI_PATH.exec(path)?.[1];
  return name === undefined ? undefined : decodeURIComponent(name);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(raw: string): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function modelOf(body: unknown): string | undefined {
  return isRecord(body) && typeof body.model === 'string' ? body.model : undefined;
}

/** Only the fields the server relies on are checked; the rest is trusted as the client's shape. */
function asChatBody(body: unknown): ChatRequestBody {
  if (!isRecord(body) || !Array.isArray(body.messages)) throw new HttpError(400, "'messages' must be an array");
  if (typeof body.model !== 'string') throw new HttpError(400, "'model' must be a string");
  return body as unknown as ChatRequestBody;
}

/** A chat request in any wire format, read into the OpenAI shape that script steps and responders see. */
interface ChatRequestRead {
  wire: WireFormat;
  body: ChatRequestBody;
  streaming: boolean;
  /** Anthropic's tool_choice naming one tool: the reply is that tool's call (how JSON output is asked for). */
  forcedTool?: string;
}

function readChatRequest(wire: WireFormat, raw: unknown, path: string): ChatRequestRead {
  if (wire === 'anthropic') return readAnthropicRequest(raw);
  if (wire === 'gemini') return readGeminiRequest(raw, path);
  const body = asChatBody(raw);
  return { wire, body, streaming: body.stream === true };
}

type OpenAiMessage = ChatRequestBody['messages'][number];

function readAnthropicRequest(raw: unknown): ChatRequestRead {
  if (!isRecord(raw) || !Array.isArray(raw.messages)) throw new HttpError(400, 'messages: Field required');
  if (typeof raw.model !== 'string') throw new HttpError(400, 'model: Field required');
  if (typeof raw.max_tokens !== 'number') throw new HttpError(400, 'max_tokens: Field required');
  checkCacheControl(raw);
  const messages: OpenAiMessage[] = [];
  // `system` is a string or an array of text blocks (which carry cache breakpoints); a system message each.
  const systemBlocks: unknown[] = typeof raw.system === 'string' ? [{ type: 'text', text: raw.system }] : Array.isArray(raw.system) ? raw.system : [];
  for (const block of systemBlocks) {
    if (isRecord(block) && block.type === 'text' && typeof block.text === 'string') messages.push({ role: 'system', content: block.text });
  }
  for (const m of raw.messages as unknown[]) {
    if (!isRecord(m)) continue;
    const blocks: unknown[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : Array.isArray(m.content) ? m.content : [];
    for (const block of blocks) {
      if (!isRecord(block)) continue;
      if (block.type === 'text' && typeof block.text === 'string') messages.push({ role: m.role === 'assistant' ? 'assistant' : 'user', content: block.text });
      if (block.type === 'tool_result') messages.push({ role: 'tool', tool_call_id: String(block.tool_use_id), content: textOf(block.content) || String(block.content ?? '') });
      if (block.type === 'tool_use') {
        messages.push({ role: 'assistant', content: null, tool_calls: [{ id: String(block.id), type: 'function', function: { name: String(block.name), arguments: JSON.stringify(block.input) } }] });
      }
    }
  }
  const choice = isRecord(raw.tool_choice) && raw.tool_choice.type === 'tool' ? String(raw.tool_choice.name) : undefined;
  const tools = Array.isArray(raw.tools) ? (raw.tools as Array<Record<string, unknown>>) : [];
  const body = {
    model: raw.model,
    messages,
    max_tokens: raw.max_tokens,
    // A forced tool is Anthropic's JSON mode: responders see it as OpenAI's.
    ...(choice ? { response_format: { type: 'json_object' as const } } : {}),
    ...(tools.length && !choice
      ? { tools: tools.map((t) => ({ type: 'function' as const, function: { name: String(t.name), description: String(t.description ?? ''), parameters: t.input_schema as Record<string, unknown> } })) }
      : {}),
  } satisfies ChatRequestBody;
  return { wire: 'anthropic', body, streaming: raw.stream === true, forcedTool: choice };
}

/** Anthropic's rules for prompt-cache breakpoints: `{type: "ephemeral"}` (a ttl of 5m or 1h), four at most. */
function checkCacheControl(raw: Record<string, unknown>): void {
  const blocks = [raw.tools, raw.system, ...(raw.messages as unknown[]).map((m) => (isRecord(m) ? m.content : undefined))].flatMap((b) => (Array.isArray(b) ? (b as unknown[]) : []));
  const marks = blocks.flatMap((b) => (isRecord(b) && b.cache_control !== undefined && b.cache_control !== null ? [b.cache_control] : []));
  for (const mark of marks) {
    if (!isRecord(mark) || mark.type !== 'ephemeral' || (mark.ttl !== undefined && mark.ttl !== '5m' && mark.ttl !== '1h')) {
      throw new HttpError(400, 'cache_control: Input tag does not match the expected tag ephemeral');
    }
  }
  if (marks.length > 4) throw new HttpError(400, `A maximum of 4 blocks with cache_control may be provided. Found ${marks.length}.`);
}

function readGeminiRequest(raw: unknown, path: string): ChatRequestRead {
  if (!isRecord(raw) || !Array.isArray(raw.contents)) throw new HttpError(400, "Invalid JSON payload: 'contents' must be an array");
  const messages: OpenAiMessage[] = [];
  const system = isRecord(raw.systemInstruction) ? textOf(raw.systemInstruction.parts) : '';
  if (system) messages.push({ role: 'system', content: system });
  for (const c of raw.contents as unknown[]) {
    if (!isRecord(c) || !Array.isArray(c.parts)) continue;
    for (const part of c.parts as unknown[]) {
      if (!isRecord(part)) continue;
      if (typeof part.text === 'string') messages.push({ role: c.role === 'model' ? 'assistant' : 'user', content: part.text });
      if (isRecord(part.functionCall)) {
        const call = part.functionCall;
        messages.push({ role: 'assistant', content: null, tool_calls: [{ id: String(call.id ?? ''), type: 'function', function: { name: String(call.name), arguments: JSON.stringify(call.args ?? {}) } }] });
      }
      if (isRecord(part.functionResponse)) {
        messages.push({ role: 'tool', tool_call_id: String(part.functionResponse.id ?? part.functionResponse.name), content: JSON.stringify(part.functionResponse.response) });
      }
    }
  }
  const config = isRecord(raw.generationConfig) ? raw.generationConfig : {};
  const declarations = Array.isArray(raw.tools)
    ? (raw.tools as unknown[]).flatMap((t) => (isRecord(t) && Array.isArray(t.functionDeclarations) ? (t.functionDeclarations as Array<Record<string, unknown>>) : []))
    : [];
  const body = {
    model: geminiModelOf(path) ?? '',
    messages,
    ...(typeof config.maxOutputTokens === 'number' ? { max_tokens: config.maxOutputTokens } : {}),
    ...(config.responseMimeType === 'application/json' ? { response_format: { type: 'json_object' as const } } : {}),
    ...(declarations.length
      ? {
          tools: declarations.map((d) => ({
            type: 'function' as const,
            function: { name: String(d.name), description: String(d.description ?? ''), parameters: (d.parametersJsonSchema ?? d.parameters) as Record<string, unknown> },
          })),
        }
      : {}),
  } satisfies ChatRequestBody;
  return { wire: 'gemini', body, streaming: path.endsWith(':streamGenerateContent') };
}

interface EmbeddingsBody {
  model: string;
  texts: string[];
  dimensions?: number;
  encodingFormat: 'float' | 'base64';
}

function asEmbeddingsBody(body: unknown): EmbeddingsBody {
  if (!isRecord(body) || typeof body.model !== 'string') throw new HttpError(400, "'model' must be a string");
  const { dimensions } = body;
  if (dimensions !== undefined && !(Number.isInteger(dimensions) && (dimensions as number) > 0)) {
    throw new HttpError(400, "'dimensions' must be a positive integer");
  }
  return {
    model: body.model,
    texts: embeddingTexts(body.input),
    dimensions: dimensions as number | undefined,
    encodingFormat: body.encoding_format === 'base64' ? 'base64' : 'float',
  };
}

/** The API also accepts token arrays; they are embedded as their space-joined ids. */
function embeddingTexts(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0) {
    if (input.every((x) => typeof x === 'number')) return [input.join(' ')];
    if (input.every((x) => typeof x === 'string')) return input as string[];
    if (input.every((x) => Array.isArray(x))) return input.map((x: unknown[]) => x.join(' '));
  }
  throw new HttpError(400, "'input' must be a string or a non-empty array of strings");
}

function isChatReply(step: ScriptStep): step is ChatReply & { match?: StepMatch } {
  return !('error' in step) && !('hangMs' in step) && !('malformed' in step);
}

function stepMatches(step: ScriptStep, path: ScriptPath, model: string | undefined): boolean {
  const wantedPath = step.match?.path ?? (isChatReply(step) ? 'chat' : undefined);
  const wantedModel = step.match?.model;
  return (wantedPath === undefined || wantedPath === path) && (wantedModel === undefined || wantedModel === model);
}

/** Resolves true after `ms`, or false as soon as the client disconnects or the server closes. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Chat completions
// ---------------------------------------------------------------------------------------------

interface PlannedToolCall {
  id: string;
  /** The script named the id (Gemini's replies carry one only then, as its API often leaves it out). */
  idScripted: boolean;
  name: string;
  arguments: string;
}

interface PlannedChoice {
  index: number;
  content: string | null;
  toolCalls: PlannedToolCall[];
  finishReason: FinishReason;
  logprobs: LogprobScript;
}

interface CompletionPlan {
  id: string;
  created: number;
  model: string;
  choices: PlannedChoice[];
  usage: CompletionUsage;
  /** The parts of prompt_tokens read from and written to the prompt cache. */
  cache: { readTokens: number; writeTokens: number };
  /** Present only when the request asked for log-probabilities. */
  logprobs: { topK: number } | undefined;
}

function defaultChatReply(body: ChatRequestBody): ChatReply {
  const lastUser = [...body.messages].reverse().find((m) => m.role === 'user');
  const text = `scripted reply to: ${lastUser ? textOf(lastUser.content) : ''}`;
  // JSON mode callers parse the content; keep the default parseable for them.
  const jsonMode = body.response_format?.type === 'json_object' || body.response_format?.type === 'json_schema';
  return { content: jsonMode ? JSON.stringify({ reply: text }) : text };
}

function planChoice(reply: ChatReply, index: number, completionId: string): PlannedChoice {
  const scripted = reply.contents && reply.contents.length > 0 ? reply.contents[index % reply.contents.length] : undefined;
  const content = typeof scripted === 'string' ? scripted : (scripted?.content ?? reply.content ?? null);
  const logprobs = (typeof scripted === 'object' ? scripted.logprobs : undefined) ?? reply.logprobs ?? DEFAULT_LOGPROB;
  const toolCalls = (reply.toolCalls ?? []).map((call, i) => ({
    id: call.id ?? `call_${completionId.replace(/\W/g, '_')}_${index}_${i}`,
    idScripted: call.id !== undefined,
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  }));
  const finishReason = reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop');
  return { index, content, toolCalls, finishReason, logprobs };
}

function toCompletion(plan: CompletionPlan): ChatCompletion {
  return {
    id: plan.id,
    object: 'chat.completion',
    created: plan.created,
    model: plan.model,
    choices: plan.choices.map((choice) => ({
      index: choice.index,
      finish_reason: choice.finishReason,
      message: {
        role: 'assistant',
        content: choice.content,
        refusal: null,
        ...(choice.toolCalls.length > 0 ? { tool_calls: choice.toolCalls.map(toMessageToolCall) } : {}),
      },
      logprobs: plan.logprobs
        ? { content: tokenLogprobs(choice.content ?? '', choice.logprobs, plan.logprobs.topK), refusal: null }
        : null,
    })),
    usage: plan.usage,
  };
}

function toMessageToolCall(call: PlannedToolCall): ChatCompletionMessageFunctionToolCall {
  return { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } };
}

/** Tokens are whitespace-led words, so they concatenate back to the exact content. */
function splitTokens(content: string): string[] {
  return content.match(/\s*\S+|\s+$/g) ?? [];
}

function logprobAt(script: LogprobScript, tokenIndex: number): number {
  if (typeof script === 'number') return script;
  return script[Math.min(tokenIndex, script.length - 1)] ?? DEFAULT_LOGPROB;
}

function tokenLogprobs(content: string, script: LogprobScript, topK: number): ChatCompletionTokenLogprob[] {
  return splitTokens(content).map((token, i) => {
    const logprob = logprobAt(script, i);
    const bytes = [...Buffer.from(token, 'utf8')];
    // Only the sampled token is known, so it is the sole alternative offered.
    const top_logprobs = topK > 0 ? [{ token, logprob, bytes }] : [];
    return { token, logprob, bytes, top_logprobs };
  });
}

// --- streaming -------------------------------------------------------------------------------

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' };
const ARGUMENT_FRAGMENT_CHARS = 8;

type ChunkChoice = ChatCompletionChunk.Choice;

function sseFrame(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

function chunkOf(id: string, model: string, choices: ChunkChoice[], created = Math.floor(Date.now() / 1000)): ChatCompletionChunk {
  return { id, object: 'chat.completion.chunk', created, model, choices };
}

function roleDelta(index: number, content: string | null): ChunkChoice {
  return { index, delta: { role: 'assistant', content }, logprobs: null, finish_reason: null };
}

/** The chunk choices OpenAI would send for one choice, in order, excluding usage. */
function choiceChunks(choice: PlannedChoice, logprobs: CompletionPlan['logprobs']): ChunkChoice[] {
  const { index } = choice;
  const content = choice.content ?? '';
  const tokenLogprobList = logprobs ? tokenLogprobs(content, choice.logprobs, logprobs.topK) : [];
  const out: ChunkChoice[] = [roleDelta(index, choice.content === null ? null : '')];
  splitTokens(content).forEach((token, i) => {
    const tokenLogprob = tokenLogprobList[i];
    out.push({
      index,
      delta: { content: token },
      logprobs: tokenLogprob ? { content: [tokenLogprob], refusal: null } : null,
      finish_reason: null,
    });
  });
  choice.toolCalls.forEach((call, toolIndex) => {
    // The first delta names the call; later ones only append argument text, as OpenAI does.
    out.push({
      index,
      delta: { tool_calls: [{ index: toolIndex, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] },
      finish_reason: null,
    });
    for (let at = 0; at < call.arguments.length; at += ARGUMENT_FRAGMENT_CHARS) {
      const fragment = call.arguments.slice(at, at + ARGUMENT_FRAGMENT_CHARS);
      out.push({ index, delta: { tool_calls: [{ index: toolIndex, function: { arguments: fragment } }] }, finish_reason: null });
    }
  });
  out.push({ index, delta: {}, logprobs: null, finish_reason: choice.finishReason });
  return out;
}

function writeStream(res: ServerResponse, plan: CompletionPlan, includeUsage: boolean): void {
  res.writeHead(200, SSE_HEADERS);
  for (const choice of plan.choices) {
    for (const chunkChoice of choiceChunks(choice, plan.logprobs)) {
      const chunk = chunkOf(plan.id, plan.model, [chunkChoice], plan.created);
      // With include_usage every chunk carries `usage: null` except the final usage chunk.
      res.write(sseFrame(includeUsage ? { ...chunk, usage: null } : chunk));
    }
  }
  if (includeUsage) res.write(sseFrame({ ...chunkOf(plan.id, plan.model, [], plan.created), usage: plan.usage }));
  res.end(sseFrame('[DONE]'));
}

/** The first choice's role delta and its first `after` text chunks, then the break: no finish reason, no usage, no [DONE]. */
function writeBrokenStream(res: ServerResponse, plan: CompletionPlan, { after, how }: NonNullable<ChatReply['breakStream']>): void {
  res.writeHead(200, SSE_HEADERS);
  const chunks = choiceChunks(plan.choices[0]!, plan.logprobs).filter((c) => c.finish_reason === null);
  const sent = chunks.slice(0, 1 + after).map((c) => sseFrame(chunkOf(plan.id, plan.model, [c], plan.created))).join('');
  if (how === 'end') {
    res.end(sent);
    return;
  }
  res.write(sent, () => res.socket?.destroy());
}

// ---------------------------------------------------------------------------------------------
// Anthropic's Messages API
// ---------------------------------------------------------------------------------------------

type AnthropicBlock = { type: 'text'; text: string; citations: null } | { type: 'tool_use'; id: string; name: string; input: unknown };

interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicBlock[];
  stop_reason: 'end_turn' | 'tool_use' | 'max_tokens' | null;
  stop_sequence: null;
  usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens: number; cache_creation_input_tokens: number };
}

function anthropicMessageShell(id: string, model: string): Omit<AnthropicMessage, 'content'> {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  };
}

/** The first choice as Anthropic's message. Its input_tokens leaves out the cached parts, as Anthropic's does. */
function toAnthropicMessage(plan: CompletionPlan, forcedTool: string | undefined): AnthropicMessage {
  const choice = plan.choices[0]!;
  const content: AnthropicBlock[] = [];
  if (forcedTool && choice.toolCalls.length === 0) {
    // A forced tool is always called: the scripted content becomes its input.
    content.push({ type: 'tool_use', id: `toolu_${plan.id.replace(/\W/g, '_')}`, name: forcedTool, input: parseJsonObject(choice.content ?? '') });
  } else if (choice.content) {
    content.push({ type: 'text', text: choice.content, citations: null });
  }
  for (const call of choice.toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: parseJsonObject(call.arguments) });
  const stopReason = choice.finishReason === 'length' ? 'max_tokens' : content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  const { readTokens, writeTokens } = plan.cache;
  return {
    ...anthropicMessageShell(plan.id.replace('chatcmpl', 'msg'), plan.model),
    content,
    stop_reason: stopReason,
    usage: {
      input_tokens: Math.max(0, plan.usage.prompt_tokens - readTokens - writeTokens),
      output_tokens: plan.usage.completion_tokens,
      cache_read_input_tokens: readTokens,
      cache_creation_input_tokens: writeTokens,
    },
  };
}

function parseJsonObject(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { text };
  }
}

function anthropicEvent(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The events Anthropic sends: message_start, each block's start / deltas / stop, message_delta (usage), message_stop. */
function writeAnthropicStream(res: ServerResponse, message: AnthropicMessage): void {
  res.writeHead(200, SSE_HEADERS);
  const { input_tokens, cache_read_input_tokens, cache_creation_input_tokens } = message.usage;
  res.write(anthropicEvent('message_start', {
    type: 'message_start',
    message: { ...message, content: [], stop_reason: null, usage: { input_tokens, output_tokens: 1, cache_read_input_tokens, cache_creation_input_tokens } },
  }));
  message.content.forEach((block, index) => {
    const start = block.type === 'text' ? { type: 'text', text: '', citations: null } : { ...block, input: {} };
    res.write(anthropicEvent('content_block_start', { type: 'content_block_start', index, content_block: start }));
    if (block.type === 'text') {
      for (const token of splitTokens(block.text)) {
        res.write(anthropicEvent('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: token } }));
      }
    } else {
      const json = JSON.stringify(block.input);
      for (let at = 0; at < json.length; at += ARGUMENT_FRAGMENT_CHARS) {
        const partial_json = json.slice(at, at + ARGUMENT_FRAGMENT_CHARS);
        res.write(anthropicEvent('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } }));
      }
    }
    res.write(anthropicEvent('content_block_stop', { type: 'content_block_stop', index }));
  });
  res.write(anthropicEvent('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: message.stop_reason, stop_sequence: null },
    usage: { output_tokens: message.usage.output_tokens },
  }));
  res.end(anthropicEvent('message_stop', { type: 'message_stop' }));
}

// ---------------------------------------------------------------------------------------------
// Gemini's generateContent
// ---------------------------------------------------------------------------------------------

function geminiUsage(plan: CompletionPlan) {
  return {
    promptTokenCount: plan.usage.prompt_tokens,
    candidatesTokenCount: plan.usage.completion_tokens,
    totalTokenCount: plan.usage.total_tokens,
    ...(plan.cache.readTokens ? { cachedContentTokenCount: plan.cache.readTokens } : {}),
  };
}

function geminiFinishReason(choice: PlannedChoice): string {
  return choice.finishReason === 'length' ? 'MAX_TOKENS' : 'STOP';
}

/** The first choice as Gemini's response; a function call carries an id only when the script gave one, as the API often omits it. */
function toGeminiResponse(plan: CompletionPlan) {
  const choice = plan.choices[0]!;
  const parts = [
    ...(choice.content ? [{ text: choice.content }] : []),
    ...choice.toolCalls.map((c) => ({ functionCall: { ...(c.idScripted ? { id: c.id } : {}), name: c.name, args: parseJsonObject(c.arguments) } })),
  ];
  return {
    candidates: [{ content: { role: 'model', parts }, finishReason: geminiFinishReason(choice), index: 0 }],
    usageMetadata: geminiUsage(plan),
    modelVersion: plan.model,
    responseId: plan.id,
  };
}

/** Gemini streams whole response objects as SSE data frames; the last one has the finish reason and usage. */
function writeGeminiStream(res: ServerResponse, plan: CompletionPlan): void {
  res.writeHead(200, SSE_HEADERS);
  const choice = plan.choices[0]!;
  for (const token of splitTokens(choice.content ?? '')) {
    res.write(sseFrame({ candidates: [{ content: { role: 'model', parts: [{ text: token }] }, index: 0 }], modelVersion: plan.model, responseId: plan.id }));
  }
  res.end(sseFrame({
    candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: geminiFinishReason(choice), index: 0 }],
    usageMetadata: geminiUsage(plan),
    modelVersion: plan.model,
    responseId: plan.id,
  }));
}

// ---------------------------------------------------------------------------------------------
// Token estimates
// ---------------------------------------------------------------------------------------------

/** ceil(chars / 4): the usual rule of thumb; good enough for budget and accounting tests. */
export function estimateTokens(textOrLength: string | number): number {
  const chars = typeof textOrLength === 'number' ? textOrLength : textOrLength.length;
  return Math.ceil(chars / 4);
}

/** Message content is a string or an array of parts; only text parts count. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => (isRecord(part) && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

function promptText(body: ChatRequestBody): string {
  return body.messages.map((m) => textOf(m.content)).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------------------------

const WORD_WEIGHT = 1;
/** Trigrams make inflections (invoice / invoices) overlap without swamping whole-word matches. */
const TRIGRAM_WEIGHT = 0.2;

/**
 * Feature hashing: each lower-cased word (and its character trigrams) adds ±weight at a hashed
 * index. Texts sharing words share components, so cosine similarity tracks word overlap, and
 * the same text always gives the same vector.
 */
export function hashedEmbedding(text: string, dims: number): number[] {
  const vector = new Array<number>(dims).fill(0);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const features: Array<[string, number]> = words.length > 0 ? [] : [['\u0000empty', 1]];
  for (const word of words) {
    features.push([`w:${word}`, WORD_WEIGHT]);
    const padded = `^${word}$`;
    for (let i = 0; i + 3 <= padded.length; i++) features.push([`t:${padded.slice(i, i + 3)}`, TRIGRAM_WEIGHT]);
  }
  for (const [feature, weight] of features) {
    const index = fnv1a(feature) % dims;
    // An independent sign hash keeps colliding features from always reinforcing each other.
    const sign = fnv1a(`sign:${feature}`) & 1 ? 1 : -1;
    vector[index] = (vector[index] ?? 0) + sign * weight;
  }
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  // Features can cancel out exactly (opposite signs colliding); fall back to a fixed unit vector.
  if (norm === 0) return vector.map((_, i) => (i === 0 ? 1 : 0));
  return vector.map((x) => x / norm);
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function float32Base64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

function sendError(res: ServerResponse, error: ErrorReply['error'], wire: WireFormat = 'openai'): void {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  const message = error.message ?? `scripted error ${error.status}`;
  if (wire === 'anthropic') {
    return sendJson(res, error.status, { type: 'error', error: { type: error.type ?? anthropicErrorType(error.status), message } }, headers);
  }
  if (wire === 'gemini') {
    return sendJson(res, error.status, { error: { code: error.status, message, status: error.type ?? geminiErrorStatus(error.status) } }, headers);
  }
  sendJson(
    res,
    error.status,
    {
      error: {
        message: error.message ?? `scripted error ${error.status}`,
        type: error.type ?? defaultErrorType(error.status),
        param: null,
        code: error.code !== undefined ? error.code : defaultErrorCode(error.status),
      },
    },
    headers,
  );
}

function anthropicErrorType(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status === 401) return 'authentication_error';
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

function geminiErrorStatus(status: number): string {
  if (status === 429) return 'RESOURCE_EXHAUSTED';
  if (status === 503) return 'UNAVAILABLE';
  if (status === 401) return 'UNAUTHENTICATED';
  return status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT';
}

function defaultErrorType(status: number): string {
  if (status === 429) return 'requests';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

function defaultErrorCode(status: number): string | null {
  if (status === 429) return 'rate_limit_exceeded';
  if (status === 401) return 'invalid_api_key';
  return null;
}
