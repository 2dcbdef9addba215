// The one configuration object. Every setting comes from the environment, is validated
// here, and has a default that makes the embedded mode (`npm start` with nothing set) work.
// Nothing else in the code base reads process.env.
import path from 'node:path';
import { z } from 'zod';
import type { AgentBudgets } from '../contracts/agent.js';
import { retrievalMode, type RetrievalMode } from '../contracts/retrieval.js';
import { TracingConfigError, tracingSettings, type TracingSettings } from './tracing-config.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number({ message: 'expected a port number' }).int().min(0).max(65535);
const positiveInt = z.coerce.number({ message: 'expected a positive integer' }).int().positive();
const url = z.url({ message: 'expected a URL such as http://host:port/v1' });

/** The APIs a remote model can speak; each has its adapter in activities/gateway/providers/. */
export const remoteProviders = ['openai', 'anthropic', 'gemini'] as const;
export type RemoteProvider = (typeof remoteProviders)[number];
/** Every provider the gateway dispatches to: the remote ones and the offline `local` model. */
export type ModelProviderName = RemoteProvider | 'local';

/** One entry of the model registry: where a model lives, what it can do and what it costs. */
export const modelSpecSchema = z.object({
  name: z.string().min(1),
  /** The API the model speaks: OpenAI-compatible (default), Anthropic's Messages API or Google Gemini's. */
  provider: z.enum(remoteProviders).default('openai'),
  /** Model id sent to the provider; defaults to `name`. */
  providerModel: z.string().min(1).optional(),
  /** Overrides the provider's endpoint (OPENAI_BASE_URL, ANTHROPIC_BASE_URL, GEMINI_BASE_URL). */
  baseUrl: url.optional(),
  /** Name of the environment variable that holds this model's API key (never the key itself). */
  apiKeyEnv: z.string().min(1).optional(),
  contextWindow: z.number().int().positive().default(128_000),
  /** What the model can do: without tools it is skipped for tool calls; without json or streaming it is asked plainly. */
  capabilities: z
    .object({ tools: z.boolean().default(true), json: z.boolean().default(true), streaming: z.boolean().default(true) })
    .default({ tools: true, json: true, streaming: true }),
  /** Dollars per million tokens. Uncached input, output, input read from the prompt cache, input written to it. */
  inputPricePerMTok: z.number().nonnegative().default(0),
  outputPricePerMTok: z.number().nonnegative().default(0),
  /** Defaults to the input price: a cached token is never charged less than the provider says unless configured. */
  cachedInputPricePerMTok: z.number().nonnegative().optional(),
  /** Defaults to the input price (Anthropic charges 1.25× it for a 5-minute cache write: configure it). */
  cacheWritePricePerMTok: z.number().nonnegative().optional(),
  /**
   * The shortest prefix the provider caches, in tokens: the Anthropic adapter marks a cache
   * breakpoint only on a prefix at least this long. Anthropic's minimum is 1024 for most models,
   * 2048 for Claude Haiku 3 / 3.5 and 4096 for Haiku 4.5 and Opus 4.5: set it for those.
   */
  promptCacheMinTokens: z.number().int().positive().default(1024),
  timeoutMs: z.number().int().positive().optional(),
  /**
   * Several endpoints serving this same model, load-balanced (activities/gateway/resilience/).
   * Absent: the model's own baseUrl and key are its one deployment.
   */
  deployments: z
    .array(
      z.object({
        /** Shown by GET /v1/gateway/deployments; defaults to `<model>#<n>`. */
        id: z.string().min(1).optional(),
        baseUrl: url.optional(),
        apiKeyEnv: z.string().min(1).optional(),
        weight: z.number().positive().default(1),
      }),
    )
    .min(1)
    .optional(),
  /** How a call picks among the deployments: by weight, the lowest recent latency, or the fewest calls in flight. */
  balance: z.enum(['weighted', 'least_latency', 'least_busy']).default('weighted'),
});
export type ModelSpecInput = z.input<typeof modelSpecSchema>;

/** The cache's layers, each turned on by name in GATEHOUSE_CACHE. */
export const CACHE_LAYERS = ['model', 'retrieval', 'tool', 'semantic'] as const;

const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  PORT: port.default(8080),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_BODY_LIMIT_MB: positiveInt.default(64),
  GATEHOUSE_DATA_DIR: z.string().min(1).default('.data'),
  GATEHOUSE_API_KEY: z.string().min(24, 'expected at least 24 characters').optional(),
  GATEHOUSE_SEED_DEMO: bool.default(true),
  /** Run a worker inside `npm start`; false for an API-only process beside separate workers. */
  GATEHOUSE_RUN_WORKER: bool.default(true),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .optional(),
  DATABASE_POOL_SIZE: positiveInt.default(10),
  PGLITE_PORT: port.default(0),

  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'expected host:port')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('gatehouse'),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  /** keyId:base64(32 bytes),… — the first encrypts, the others only decrypt (rotation). */
  PAYLOAD_ENCRYPTION_KEYS: z.string().optional(),
  /** Origins of the Temporal Web UI allowed to call /codec (comma-separated). */
  TEMPORAL_UI_ORIGIN: z.string().optional(),
  /** The worker's sticky cache of workflows (default: the SDK's, which scales with the heap). */
  WORKER_MAX_CACHED_WORKFLOWS: positiveInt.optional(),
  /** host:port where the Temporal SDK's worker metrics are served for Prometheus (unset: not exported). */
  GATEHOUSE_TEMPORAL_METRICS_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'expected host:port')
    .optional(),
  /** host:port where a standalone worker (workers/main.ts) serves its own metrics at /metrics (unset: not served). */
  GATEHOUSE_WORKER_METRICS_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'expected host:port')
    .optional(),
  /** When set, GET /metrics asks for `Authorization: Bearer <token>` (Prometheus' `authorization` scrape setting). */
  GATEHOUSE_METRICS_TOKEN: z.string().min(16, 'expected at least 16 characters').optional(),

  OPENAI_BASE_URL: url.optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  /** Anthropic's endpoint (default https://api.anthropic.com) and key, for models with provider "anthropic". */
  ANTHROPIC_BASE_URL: url.optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  /** Gemini's endpoint (default https://generativelanguage.googleapis.com) and key, for provider "gemini". */
  GEMINI_BASE_URL: url.optional(),
  GEMINI_API_KEY: z.string().min(1).optional(),
  GATEHOUSE_CHAT_MODEL: z.string().min(1).optional(),
  GATEHOUSE_MODELS: z.string().optional(),
  GATEHOUSE_MODEL_FALLBACKS: z.string().optional(),
  GATEHOUSE_MODEL_TIMEOUT_MS: positiveInt.default(30_000),
  GATEHOUSE_REWRITE_MODEL: z.string().min(1).optional(),
  /** Retries of one deployment on a 429 or 5xx before the chain moves on (0: move on at once). */
  GATEHOUSE_MODEL_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  /** The longest Retry-After the gateway waits out; a longer one moves on to the next deployment at once. */
  GATEHOUSE_MODEL_RETRY_MAX_WAIT_MS: positiveInt.default(5_000),
  /** A deployment's breaker opens when this share of its calls in the window failed… */
  GATEHOUSE_BREAKER_FAILURE_RATE: z.coerce.number().gt(0).max(1).default(0.5),
  /** …and at least this many calls ended in it (a quiet deployment is not judged on two calls). */
  GATEHOUSE_BREAKER_MIN_CALLS: positiveInt.default(10),
  GATEHOUSE_BREAKER_WINDOW_MS: positiveInt.default(60_000),
  /** How long an open breaker refuses calls before one trial call (half-open) may test the deployment. */
  GATEHOUSE_BREAKER_COOLDOWN_MS: positiveInt.default(30_000),

  /**
   * The cache layers turned on (activities/cache/), comma-separated: `model` (responses),
   * `retrieval` (search results), `tool` (read-only tool results), `semantic` (answers to similar
   * questions); `exact` means the first three, `all` all four, `off` none. By default the exact
   * layers serve (they answer only the same request, and never across tenants or users) and the
   * semantic layer runs in shadow (a near question is a different question until the operator has
   * seen the distances on real traffic and chosen a threshold).
   */
  GATEHOUSE_CACHE: z
    .string()
    .default('exact,semantic')
    .transform((v, ctx) => {
      const words = v.split(',').map((w) => w.trim()).filter(Boolean);
      const known = ['off', 'exact', 'all', ...CACHE_LAYERS];
      const bad = words.find((w) => !known.includes(w));
      if (bad) ctx.addIssue({ code: 'custom', message: `unknown cache layer "${bad}" (one of ${known.join(', ')})` });
      const on = new Set(words.flatMap((w) => (w === 'all' ? [...CACHE_LAYERS] : w === 'exact' ? ['model', 'retrieval', 'tool'] : w === 'off' ? [] : [w])));
      return on;
    }),
  /** The semantic layer serves its hits (`on`) or only records the would-be hit and its distance (`shadow`). */
  GATEHOUSE_CACHE_SEMANTIC_MODE: z.enum(['on', 'shadow']).default('shadow'),
  /**
   * The cosine similarity a cached question must reach to answer a new one (a route's own threshold
   * wins). 0.85 is the operating point `npm run bench -- cache` chose with all-MiniLM-L6-v2 and the
   * false-hit guard: on the labeled set's test split 69% of paraphrases hit, 1% of near misses.
   */
  GATEHOUSE_CACHE_SEMANTIC_THRESHOLD: z.coerce.number().gt(0).max(1).default(0.85),
  /** How long a cached response is served. */
  GATEHOUSE_CACHE_TTL_SECONDS: positiveInt.default(3_600),
  /** Each tenant's share of the cache; past it the least recently (lru) or least often (lfu) used entries go. */
  GATEHOUSE_CACHE_MAX_MB_PER_TENANT: positiveInt.default(64),
  GATEHOUSE_CACHE_EVICTION: z.enum(['lru', 'lfu']).default('lru'),
  /** A registry model asked whether a question the rules would share may be shared (it can only narrow); unset: the rules alone. */
  GATEHOUSE_CACHE_CLASSIFIER_MODEL: z.string().min(1).optional(),

  EMBEDDING_PROVIDER: z.enum(['local', 'openai', 'hashing']).default('local'),
  EMBEDDING_MODEL: z.string().min(1).optional(),
  EMBEDDING_DIMENSIONS: positiveInt.max(16_000).default(384),
  EMBEDDING_BASE_URL: url.optional(),
  EMBEDDING_BATCH_SIZE: positiveInt.max(2048).default(64),
  GATEHOUSE_MODEL_DIR: z.string().min(1).optional(),

  // 200 tokens of the chat tokenizer stay within the local embedder's 256-token window.
  CHUNK_MAX_TOKENS: positiveInt.max(8192).default(200),
  CHUNK_OVERLAP_TOKENS: z.coerce.number().int().min(0).default(40),
  INGEST_BATCH_SIZE: positiveInt.max(1000).default(50),
  INGEST_PARALLEL_BATCHES: positiveInt.max(16).default(2),

  RETRIEVAL_TOP_K: positiveInt.max(100).default(8),
  RETRIEVAL_CANDIDATES: positiveInt.max(1000).default(50),
  RETRIEVAL_RRF_K: positiveInt.default(60),
  RETRIEVAL_EF_SEARCH: positiveInt.max(1000).default(100),
  RETRIEVAL_MODE: retrievalMode.default('ensemble'),

  AGENT_MAX_STEPS: positiveInt.max(10_000).default(25),
  AGENT_MAX_TOKENS: positiveInt.default(200_000),
  AGENT_MAX_COST_USD: z.coerce.number({ message: 'expected a number of dollars' }).positive().default(1),
  AGENT_MAX_TOOL_CALLS: positiveInt.max(10_000).default(50),
  AGENT_MAX_WALL_SECONDS: positiveInt.default(600),
  AGENT_APPROVAL_TIMEOUT_SECONDS: positiveInt.default(86_400),
  /** JSON {"table": ["column", ...]}: what update_record may change in a tenant's schema. */
  AGENT_UPDATABLE_COLUMNS: z.string().default('{"customers":["email","city","tier"],"orders":["status"]}'),
  /** A JSON search endpoint (SearXNG's /search?format=json shape); web_search is off without it. */
  WEB_SEARCH_URL: url.optional(),
  /** An SMTP relay for send_email, e.g. smtp://user:pass@mail.internal:587 (unset: emails stay in the outbox). */
  SMTP_URL: z.string().regex(/^smtps?:\/\/[^\s]+$/, 'expected smtp://[user:pass@]host:port or smtps://…').optional(),
  SMTP_FROM: z.string().min(3).default('Gatehouse <no-reply@gatehouse.invalid>'),
  /** OpenID Connect sign-in for people (approvers): the issuer, the audience (client id) and its JWKS. */
  OIDC_ISSUER: url.optional(),
  OIDC_AUDIENCE: z.string().min(1).optional(),
  OIDC_JWKS_URL: url.optional(),
  /** Minutes an approval token (a signed Signal decision for the Temporal UI) stays valid. */
  APPROVAL_TOKEN_MINUTES: z.coerce.number().int().min(1).max(60).default(10),
});

export interface ModelSpec {
  name: string;
  providerModel: string;
  /** 'local' is the offline extractive model; the others name the API a remote model speaks. */
  provider: ModelProviderName;
  /** The provider's endpoint; unset means the provider SDK's own default. */
  baseUrl?: string;
  apiKey?: string;
  contextWindow: number;
  capabilities: ModelCapabilities;
  /** Dollars per million tokens; see TokenCounts (activities/gateway/providers/provider.ts) for what each counts. */
  inputPricePerMTok: number;
  outputPricePerMTok: number;
  cachedInputPricePerMTok: number;
  cacheWritePricePerMTok: number;
  /** The shortest prefix the provider's prompt cache keeps (Anthropic's breakpoints; see modelSpecSchema). */
  promptCacheMinTokens: number;
  timeoutMs: number;
  /** At least one: the endpoints serving this model. */
  deployments: ModelDeployment[];
  balance: BalanceStrategy;
}

export type BalanceStrategy = 'weighted' | 'least_latency' | 'least_busy';

/** One endpoint serving a model: its own breaker, latency and in-flight count (per worker process). */
export interface ModelDeployment {
  id: string;
  /** The provider's endpoint; unset means the provider SDK's own default. */
  baseUrl?: string;
  apiKey?: string;
  weight: number;
}

/** The caches: which layers are on, how long an entry lives, how much of it each tenant may hold. */
export interface CacheSettings {
  layers: { model: boolean; retrieval: boolean; tool: boolean; semantic: 'off' | 'on' | 'shadow' };
  ttlSeconds: number;
  maxBytesPerTenant: number;
  eviction: 'lru' | 'lfu';
  /** The semantic layer's default threshold (cosine similarity); a route may set its own. */
  semanticThreshold: number;
  /** The model asked after the cacheability rules would share an entry in the tenant (activities/cache/cacheability.ts); absent: rules only. */
  classifierModel?: string;
}

/** How the gateway survives a provider: retries of one deployment, and each deployment's circuit breaker. */
export interface ResilienceSettings {
  retries: number;
  maxRetryWaitMs: number;
  breaker: BreakerSettings;
}

export interface BreakerSettings {
  failureRate: number;
  minimumCalls: number;
  windowMs: number;
  cooldownMs: number;
}

export interface ModelCapabilities {
  tools: boolean;
  json: boolean;
  streaming: boolean;
}

export interface Config {
  env: string;
  logLevel: string;
  api: {
    port: number;
    host: string;
    bodyLimitBytes: number;
    devApiKey?: string;
    /** People sign in with ID tokens from this issuer, verified against its JWKS (jose). */
    oidc?: { issuer: string; audience: string; jwksUrl: string };
    approvalTokenMinutes: number;
    /** GET /metrics's bearer token; absent, /metrics is open (aggregates only, on the API's host). */
    metricsToken?: string;
  };
  dataDir: string;
  seedDemo: boolean;
  runWorker: boolean;
  database: { url?: string; poolSize: number; pglitePort: number };
  temporal: {
    address?: string;
    namespace: string;
    taskQueue: string;
    port: number;
    uiPort: number;
    cliPath?: string;
    maxCachedWorkflows?: number;
    /** Where the SDK's Prometheus exporter listens (GATEHOUSE_TEMPORAL_METRICS_ADDRESS). */
    metricsAddress?: string;
    /** Where a standalone worker serves Gatehouse's metrics (GATEHOUSE_WORKER_METRICS_ADDRESS). */
    workerMetricsAddress?: string;
    /** From PAYLOAD_ENCRYPTION_KEYS; unset in the embedded mode means a generated key (infra/payload-keys.ts). */
    payloadKeys?: PayloadKeyRing;
    /** Browser origins of the Temporal UI that may call the codec endpoint. */
    uiOrigins: string[];
  };
  models: {
    registry: ModelSpec[];
    /** The chain tried in order: the default model first, then its fallbacks. */
    chain: string[];
    /** Question rewriting's model, when set: a small, cheap one. Otherwise the task's own model. */
    rewriteModel?: string;
    resilience: ResilienceSettings;
  };
  /** The caches (GATEHOUSE_CACHE); absent when every layer is off. */
  cache?: CacheSettings;
  /** OpenTelemetry tracing from the standard OTEL_* variables (infra/tracing-config.ts); absent: off. */
  tracing?: TracingSettings;
  embedding: {
    provider: 'local' | 'openai' | 'hashing';
    model: string;
    dimensions: number;
    baseUrl?: string;
    apiKey?: string;
    batchSize: number;
    modelDir: string;
  };
  chunking: { maxTokens: number; overlapTokens: number };
  ingest: { batchSize: number; parallelBatches: number };
  retrieval: {
    topK: number;
    candidates: number;
    rrfK: number;
    efSearch: number;
    mode: RetrievalMode;
  };
  agents: {
    budgets: AgentBudgets;
    approvalTimeoutSeconds: number;
    updatableColumns: Record<string, string[]>;
    webSearchUrl?: string;
    smtp?: { url: string; from: string };
  };
}

/** Keys that encrypt Temporal payloads: `currentKeyId` encrypts, every key decrypts. */
export interface PayloadKeyRing {
  currentKeyId: string;
  keys: Map<string, Buffer>;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const LOCAL_MODEL: ModelSpec = {
  name: 'local',
  providerModel: 'local-extractive',
  provider: 'local',
  contextWindow: 16_384,
  // It speaks the tool-calling protocol and writes JSON; it writes its answer at once.
  capabilities: { tools: true, json: true, streaming: false },
  inputPricePerMTok: 0,
  outputPricePerMTok: 0,
  cachedInputPricePerMTok: 0,
  cacheWritePricePerMTok: 0,
  promptCacheMinTokens: 1024,
  timeoutMs: 10_000,
  deployments: [{ id: 'local', weight: 1 }],
  balance: 'weighted',
};

/** The defaults of GATEHOUSE_MODEL_RETRIES… and GATEHOUSE_BREAKER_…, for a gateway built without a config. */
export const DEFAULT_RESILIENCE: ResilienceSettings = {
  retries: 2,
  maxRetryWaitMs: 5_000,
  breaker: { failureRate: 0.5, minimumCalls: 10, windowMs: 60_000, cooldownMs: 30_000 },
};

/**
 * Build the configuration from an environment (process.env by default).
 * Throws ConfigError with one line naming the variable and what it expects.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as they do in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const got = cleaned[name];
    throw new ConfigError(`${name}: ${issue.message}${got !== undefined ? ` (got "${redact(name, got)}")` : ''}`);
  }
  const e = parsed.data;
  if (e.CHUNK_OVERLAP_TOKENS >= e.CHUNK_MAX_TOKENS) {
    throw new ConfigError(`CHUNK_OVERLAP_TOKENS: expected fewer than CHUNK_MAX_TOKENS (${e.CHUNK_MAX_TOKENS})`);
  }

  const registry = buildRegistry(e, env);
  const defaultModel = e.GATEHOUSE_CHAT_MODEL ?? (e.OPENAI_BASE_URL ? 'gpt-4o-mini' : 'local');
  const fallbacks = (e.GATEHOUSE_MODEL_FALLBACKS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const chain = [defaultModel, ...fallbacks.filter((m) => m !== defaultModel)];
  for (const name of chain) {
    if (!registry.some((m) => m.name === name)) {
      const variable = name === defaultModel ? 'GATEHOUSE_CHAT_MODEL' : 'GATEHOUSE_MODEL_FALLBACKS';
      throw new ConfigError(
        `${variable}: model "${name}" is not in the registry (known: ${registry.map((m) => m.name).join(', ')}); add it to GATEHOUSE_MODELS or set OPENAI_BASE_URL`,
      );
    }
  }
  const rewriteModel = e.GATEHOUSE_REWRITE_MODEL;
  if (rewriteModel && !registry.some((m) => m.name === rewriteModel)) {
    throw new ConfigError(`GATEHOUSE_REWRITE_MODEL: model "${rewriteModel}" is not in the registry`);
  }
  const cacheClassifierModel = e.GATEHOUSE_CACHE_CLASSIFIER_MODEL;
  if (cacheClassifierModel && !registry.some((m) => m.name === cacheClassifierModel)) {
    throw new ConfigError(`GATEHOUSE_CACHE_CLASSIFIER_MODEL: model "${cacheClassifierModel}" is not in the registry`);
  }

  if (e.EMBEDDING_PROVIDER === 'openai' && !(e.EMBEDDING_BASE_URL ?? e.OPENAI_BASE_URL)) {
    throw new ConfigError('EMBEDDING_BASE_URL: expected a URL when EMBEDDING_PROVIDER=openai (or set OPENAI_BASE_URL)');
  }
  if (e.EMBEDDING_PROVIDER === 'local' && e.EMBEDDING_DIMENSIONS !== 384) {
    throw new ConfigError('EMBEDDING_DIMENSIONS: the local model (all-MiniLM-L6-v2) produces 384 dimensions');
  }
  const dataDir = path.resolve(e.GATEHOUSE_DATA_DIR);
  const payloadKeys = e.PAYLOAD_ENCRYPTION_KEYS ? parsePayloadKeys(e.PAYLOAD_ENCRYPTION_KEYS) : undefined;
  if (!payloadKeys && e.TEMPORAL_ADDRESS) {
    // API and workers are separate processes on an external cluster: a key generated here
    // would differ from theirs, and whatever one encrypts the others could not read.
    throw new ConfigError(
      'PAYLOAD_ENCRYPTION_KEYS: required with TEMPORAL_ADDRESS (every API and worker process must share the keys); ' +
        "expected keyId:base64(32 bytes), e.g. k1:$(node -e \"console.log(require('crypto').randomBytes(32).toString('base64'))\")",
    );
  }
  const uiOrigins = parseOrigins(e.TEMPORAL_UI_ORIGIN, e.TEMPORAL_ADDRESS ? [] : [`http://localhost:${e.TEMPORAL_UI_PORT}`, `http://127.0.0.1:${e.TEMPORAL_UI_PORT}`]);
  const updatableColumns = parseUpdatableColumns(e.AGENT_UPDATABLE_COLUMNS);
  let tracing: TracingSettings | undefined;
  try {
    tracing = tracingSettings(cleaned as Record<string, string>);
  } catch (err) {
    throw err instanceof TracingConfigError ? new ConfigError(err.message) : err;
  }

  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    api: {
      port: e.PORT,
      host: e.API_HOST,
      bodyLimitBytes: e.API_BODY_LIMIT_MB * 1024 * 1024,
      devApiKey: e.GATEHOUSE_API_KEY,
      oidc: oidcConfig(e),
      approvalTokenMinutes: e.APPROVAL_TOKEN_MINUTES,
      metricsToken: e.GATEHOUSE_METRICS_TOKEN,
    },
    dataDir,
    seedDemo: e.GATEHOUSE_SEED_DEMO,
    runWorker: e.GATEHOUSE_RUN_WORKER,
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, pglitePort: e.PGLITE_PORT },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      port: e.TEMPORAL_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      cliPath: e.TEMPORAL_CLI_PATH,
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      metricsAddress: e.GATEHOUSE_TEMPORAL_METRICS_ADDRESS,
      workerMetricsAddress: e.GATEHOUSE_WORKER_METRICS_ADDRESS,
      payloadKeys,
      uiOrigins,
    },
    models: {
      registry,
      chain,
      rewriteModel,
      resilience: {
        retries: e.GATEHOUSE_MODEL_RETRIES,
        maxRetryWaitMs: e.GATEHOUSE_MODEL_RETRY_MAX_WAIT_MS,
        breaker: {
          failureRate: e.GATEHOUSE_BREAKER_FAILURE_RATE,
          minimumCalls: e.GATEHOUSE_BREAKER_MIN_CALLS,
          windowMs: e.GATEHOUSE_BREAKER_WINDOW_MS,
          cooldownMs: e.GATEHOUSE_BREAKER_COOLDOWN_MS,
        },
      },
    },
    cache:
      e.GATEHOUSE_CACHE.size === 0
        ? undefined
        : {
            layers: {
              model: e.GATEHOUSE_CACHE.has('model'),
              retrieval: e.GATEHOUSE_CACHE.has('retrieval'),
              tool: e.GATEHOUSE_CACHE.has('tool'),
              semantic: e.GATEHOUSE_CACHE.has('semantic') ? e.GATEHOUSE_CACHE_SEMANTIC_MODE : 'off',
            },
            ttlSeconds: e.GATEHOUSE_CACHE_TTL_SECONDS,
            maxBytesPerTenant: e.GATEHOUSE_CACHE_MAX_MB_PER_TENANT * 2 ** 20,
            eviction: e.GATEHOUSE_CACHE_EVICTION,
            semanticThreshold: e.GATEHOUSE_CACHE_SEMANTIC_THRESHOLD,
            classifierModel: cacheClassifierModel,
          },
    tracing,
    embedding: {
      provider: e.EMBEDDING_PROVIDER,
      model:
        e.EMBEDDING_MODEL ??
        (e.EMBEDDING_PROVIDER === 'openai'
          ? 'text-embedding-3-small'
          : e.EMBEDDING_PROVIDER === 'local'
            ? 'all-MiniLM-L6-v2'
            : 'feature-hashing'),
      dimensions: e.EMBEDDING_DIMENSIONS,
      baseUrl: e.EMBEDDING_BASE_URL ?? e.OPENAI_BASE_URL,
      apiKey: e.OPENAI_API_KEY,
      batchSize: e.EMBEDDING_BATCH_SIZE,
      // Models are shared by every data dir of a checkout: they are big and never change.
      modelDir: path.resolve(e.GATEHOUSE_MODEL_DIR ?? path.join('.tools', 'models')),
    },
    chunking: { maxTokens: e.CHUNK_MAX_TOKENS, overlapTokens: e.CHUNK_OVERLAP_TOKENS },
    ingest: { batchSize: e.INGEST_BATCH_SIZE, parallelBatches: e.INGEST_PARALLEL_BATCHES },
    retrieval: {
      topK: e.RETRIEVAL_TOP_K,
      candidates: e.RETRIEVAL_CANDIDATES,
      rrfK: e.RETRIEVAL_RRF_K,
      efSearch: e.RETRIEVAL_EF_SEARCH,
      mode: e.RETRIEVAL_MODE,
    },
    agents: {
      budgets: {
        maxSteps: e.AGENT_MAX_STEPS,
        maxTokens: e.AGENT_MAX_TOKENS,
        maxCostUsd: e.AGENT_MAX_COST_USD,
        maxToolCalls: e.AGENT_MAX_TOOL_CALLS,
        maxWallSeconds: e.AGENT_MAX_WALL_SECONDS,
      },
      approvalTimeoutSeconds: e.AGENT_APPROVAL_TIMEOUT_SECONDS,
      updatableColumns,
      webSearchUrl: e.WEB_SEARCH_URL,
      smtp: e.SMTP_URL ? { url: e.SMTP_URL, from: e.SMTP_FROM } : undefined,
    },
  };
}

/**
 * PAYLOAD_ENCRYPTION_KEYS: `keyId:base64,…`, the first one current. Errors name the key id
 * and never its material.
 */
function oidcConfig(e: z.infer<typeof envSchema>): Config['api']['oidc'] {
  const set = [e.OIDC_ISSUER, e.OIDC_AUDIENCE, e.OIDC_JWKS_URL].filter(Boolean).length;
  if (set === 0) return undefined;
  if (set < 3) throw new ConfigError('OIDC_ISSUER, OIDC_AUDIENCE, OIDC_JWKS_URL: set all three for OpenID Connect sign-in, or none');
  return { issuer: e.OIDC_ISSUER!, audience: e.OIDC_AUDIENCE!, jwksUrl: e.OIDC_JWKS_URL! };
}

function parsePayloadKeys(raw: string): PayloadKeyRing {
  const keys = new Map<string, Buffer>();
  const entries = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      throw new ConfigError(`PAYLOAD_ENCRYPTION_KEYS: entry ${i + 1}: expected keyId:base64 with a key id of letters, digits, ".", "_" or "-"`);
    }
    const b64 = entry.slice(colon + 1);
    const key = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : undefined;
    if (key?.length !== 32) {
      throw new ConfigError(`PAYLOAD_ENCRYPTION_KEYS: key "${id}": expected 32 bytes in base64 (AES-256)${key ? `, got ${key.length}` : ''}`);
    }
    if (keys.has(id)) throw new ConfigError(`PAYLOAD_ENCRYPTION_KEYS: key id "${id}" appears twice`);
    keys.set(id, key);
  }
  const [currentKeyId] = keys.keys();
  if (!currentKeyId) throw new ConfigError('PAYLOAD_ENCRYPTION_KEYS: expected at least one keyId:base64 entry');
  return { currentKeyId, keys };
}

function parseOrigins(raw: string | undefined, defaults: string[]): string[] {
  if (!raw) return defaults;
  const origins = raw.split(',').map((s) => s.trim().replace(/\/$/, '')).filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new ConfigError(`TEMPORAL_UI_ORIGIN: expected origins such as https://temporal.example.com (got "${origin.slice(0, 80)}")`);
  }
  return origins;
}

function parseUpdatableColumns(raw: string): Record<string, string[]> {
  const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected lower-case SQL identifiers');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError('AGENT_UPDATABLE_COLUMNS: expected JSON such as {"customers":["email"]}');
  }
  const parsed = z.record(identifier, z.array(identifier)).safeParse(json);
  if (!parsed.success) throw new ConfigError(`AGENT_UPDATABLE_COLUMNS: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

function buildRegistry(e: z.infer<typeof envSchema>, env: Record<string, string | undefined>): ModelSpec[] {
  const registry: ModelSpec[] = [LOCAL_MODEL];
  if (e.OPENAI_BASE_URL) {
    // The endpoint named by OPENAI_BASE_URL serves the default model unless the registry says otherwise.
    const name = e.GATEHOUSE_CHAT_MODEL ?? 'gpt-4o-mini';
    registry.push({
      name,
      providerModel: name,
      provider: 'openai',
      baseUrl: e.OPENAI_BASE_URL,
      apiKey: e.OPENAI_API_KEY,
      contextWindow: 128_000,
      capabilities: { tools: true, json: true, streaming: true },
      inputPricePerMTok: 0,
      outputPricePerMTok: 0,
      cachedInputPricePerMTok: 0,
      cacheWritePricePerMTok: 0,
      promptCacheMinTokens: 1024,
      timeoutMs: e.GATEHOUSE_MODEL_TIMEOUT_MS,
      deployments: [{ id: name, baseUrl: e.OPENAI_BASE_URL, apiKey: e.OPENAI_API_KEY, weight: 1 }],
      balance: 'weighted',
    });
  }
  if (e.GATEHOUSE_MODELS) {
    let raw: unknown;
    try {
      raw = JSON.parse(e.GATEHOUSE_MODELS);
    } catch {
      throw new ConfigError('GATEHOUSE_MODELS: expected a JSON array of models ([{"name": …, "baseUrl": …}])');
    }
    const specs = z.array(modelSpecSchema).safeParse(raw);
    if (!specs.success) {
      const issue = specs.error.issues[0]!;
      throw new ConfigError(`GATEHOUSE_MODELS: [${issue.path.join('.')}] ${issue.message}`);
    }
    for (const s of specs.data) {
      const endpoint = providerEndpoints(e)[s.provider];
      const baseUrl = s.baseUrl ?? endpoint.baseUrl;
      // Anthropic's and Gemini's SDKs know their public endpoints; an OpenAI-compatible one must be named.
      if (!baseUrl && s.provider === 'openai' && !s.deployments) {
        throw new ConfigError(`GATEHOUSE_MODELS: model "${s.name}" needs a baseUrl (or set OPENAI_BASE_URL)`);
      }
      if (s.apiKeyEnv && !env[s.apiKeyEnv]) {
        throw new ConfigError(`${s.apiKeyEnv}: expected the API key of model "${s.name}" (named by GATEHOUSE_MODELS)`);
      }
      const apiKey = s.apiKeyEnv ? env[s.apiKeyEnv] : endpoint.apiKey;
      const deployments = (s.deployments ?? [{ baseUrl: s.baseUrl, apiKeyEnv: s.apiKeyEnv, weight: 1 }]).map((d, i) => {
        const deploymentUrl = d.baseUrl ?? baseUrl;
        if (!deploymentUrl && s.provider === 'openai') {
          throw new ConfigError(`GATEHOUSE_MODELS: deployment ${i + 1} of model "${s.name}" needs a baseUrl`);
        }
        if (d.apiKeyEnv && !env[d.apiKeyEnv]) {
          throw new ConfigError(`${d.apiKeyEnv}: expected the API key of deployment ${i + 1} of model "${s.name}" (named by GATEHOUSE_MODELS)`);
        }
        const id = d.id ?? (s.deployments ? `${s.name}#${i + 1}` : s.name);
        return { id, baseUrl: deploymentUrl, apiKey: d.apiKeyEnv ? env[d.apiKeyEnv] : apiKey, weight: d.weight };
      });
      if (new Set(deployments.map((d) => d.id)).size < deployments.length) {
        throw new ConfigError(`GATEHOUSE_MODELS: model "${s.name}" names two deployments alike`);
      }
      const spec: ModelSpec = {
        name: s.name,
        providerModel: s.providerModel ?? s.name,
        provider: s.provider,
        baseUrl,
        apiKey,
        contextWindow: s.contextWindow,
        capabilities: s.capabilities,
        inputPricePerMTok: s.inputPricePerMTok,
        outputPricePerMTok: s.outputPricePerMTok,
        cachedInputPricePerMTok: s.cachedInputPricePerMTok ?? s.inputPricePerMTok,
        cacheWritePricePerMTok: s.cacheWritePricePerMTok ?? s.inputPricePerMTok,
        promptCacheMinTokens: s.promptCacheMinTokens,
        timeoutMs: s.timeoutMs ?? e.GATEHOUSE_MODEL_TIMEOUT_MS,
        deployments,
        balance: s.balance,
      };
      // A registry entry overrides the implicit one built from OPENAI_BASE_URL.
      const existing = registry.findIndex((m) => m.name === s.name);
      if (existing >= 0) registry[existing] = spec;
      else registry.push(spec);
    }
  }
  return registry;
}

/** Each remote provider's endpoint and key from the environment; a registry entry may override both. */
function providerEndpoints(e: z.infer<typeof envSchema>): Record<RemoteProvider, { baseUrl?: string; apiKey?: string }> {
  return {
    openai: { baseUrl: e.OPENAI_BASE_URL, apiKey: e.OPENAI_API_KEY },
    anthropic: { baseUrl: e.ANTHROPIC_BASE_URL, apiKey: e.ANTHROPIC_API_KEY },
    gemini: { baseUrl: e.GEMINI_BASE_URL, apiKey: e.GEMINI_API_KEY },
  };
}

/** Never echo secrets back, even in an error line. */
function redact(name: string, value: string): string {
  if (/KEY|SECRET|TOKEN|PASSWORD/i.test(name)) return '***';
  const withoutCredentials = value.replace(/\/\/[^@/\s]*@/, '//***@');
  return withoutCredentials.length > 80 ? `${withoutCredentials.slice(0, 77)}...` : withoutCredentials;
}
