/**
 * A scripted, OpenAI-compatible HTTP server for tests.
 *
 * The product talks to models through the real `openai` client, so tests point that client at this
 * server (`new OpenAI({ baseURL: server.baseUrl })`) instead of mocking it: request building, SSE
 * parsing, retries, timeouts and error mapping are all exercised for real over HTTP.
 *
 * Routes: POST /v1/chat/completions (plain and streaming), POST /v1/embeddings, GET /v1/models[/id].
 * Replies come, in order of precedence, from the FIFO script (`enqueue`), a custom responder
 * (`onChat` / `onEmbeddings`), or a deterministic default.
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
  /** Overrides the estimates (ceil(chars / 4)); total_tokens is always their sum. */
  usage?: { promptTokens?: number; completionTokens?: number };
  /** Defaults to `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: FinishReason;
  /** Only reported when the request sets `logprobs: true`; defaults to DEFAULT_LOGPROB. */
  logprobs?: LogprobScript;
  delayMs?: number;
  /** Defaults to echoing the requested model. */
  model?: string;
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

export interface RecordedRequest {
  method: string;
  /** URL path, e.g. `/v1/chat/completions`. */
  path: string;
  kind: ScriptPath | 'models' | 'other';
  model?: string;
  /** Parsed JSON body; undefined when there was none or it did not parse. */
  body: unknown;
  headers: IncomingHttpHeaders;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface ScriptedModelServer {
  /** e.g. http://127.0.0.1:PORT/v1 — pass to `new OpenAI({ baseURL })`. */
  readonly baseUrl: string;
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
  /** When set, requests must carry `Authorization: Bearer <apiKey>`, else 401. */
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
    this.baseUrl = `http://${HOST}:${actual}/v1`;
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
    const raw = await readBody(req);
    const body = parseJson(raw);
    this.requests.push({ method, path, kind, model: modelOf(body), body, headers: req.headers, at: Date.now() });

    if (!this.authorized(req)) {
      sendError(res, { status: 401, message: 'Incorrect API key provided.', code: 'invalid_api_key' });
      return;
    }
    if (raw.length > 0 && body === undefined) throw new HttpError(400, 'request body is not valid JSON');

    switch (kind) {
      case 'chat':
        return this.handleChat(res, asChatBody(body), signal);
      case 'embeddings':
        return this.handleEmbeddings(res, asEmbeddingsBody(body), signal);
      case 'models':
        return this.handleModels(res, path);
      case 'other':
        throw new HttpError(404, `no route for ${method} ${path}`);
    }
  }

  private authorized(req: IncomingMessage): boolean {
    return this.opts.apiKey === undefined || req.headers.authorization === `Bearer ${this.opts.apiKey}`;
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

  private async handleChat(res: ServerResponse, body: ChatRequestBody, signal: AbortSignal): Promise<void> {
    const streaming = body.stream === true;
    let outcome: ScriptStep | ChatOutcome = this.takeStep('chat', body.model) ?? (await this.respondToChat(body));
    if ('hangMs' in outcome) {
      if (!(await pause(outcome.hangMs, signal))) return;
      outcome = await this.respondToChat(body);
    }
    if ('error' in outcome) return sendError(res, outcome.error);
    if ('malformed' in outcome) return this.sendMalformed(res, outcome.malformed, 'chat', streaming, body.model);
    if (outcome.delayMs !== undefined && !(await pause(outcome.delayMs, signal))) return;

    const plan = this.planCompletion(body, outcome);
    if (streaming) {
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
    return {
      id,
      created: Math.floor(Date.now() / 1000),
      model: reply.model ?? body.model,
      choices,
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
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

  private sendMalformed(res: ServerResponse, kind: MalformedKind, path: ScriptPath, streaming: boolean, model: string): void {
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
}

// ---------------------------------------------------------------------------------------------
// Routing and request parsing
// ---------------------------------------------------------------------------------------------

function routeKind(method: string, path: string): RecordedRequest['kind'] {
  if (method === 'POST' && path === '/v1/chat/completions') return 'chat';
  if (method === 'POST' && path === '/v1/embeddings') return 'embeddings';
  if (method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/'))) return 'models';
  return 'other';
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

function sendError(res: ServerResponse, error: ErrorReply['error']): void {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
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

function defaultErrorType(status: number): string {
  if (status === 429) return 'requests';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

function defaultErrorCode(status: number): string | null {
  if (status === 429) return 'rate_limit_exceeded';
  if (status === 401) return 'invalid_api_key';
  return null;
}
