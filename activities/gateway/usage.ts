// The usage ledger: one model_usage row per model call attempt, and one per call a cache answered
// in a model's place (no tokens, no cost, what it saved). Also the prompt-prefix hash each row
// carries, by which GET /v1/gateway/prompt-cache reports the providers' prompt-cache hit ratio.
import { createHash } from 'node:crypto';
import type { ModelSpec } from '../../infra/config.js';
import type { Db } from '../../infra/db/pool.js';
import type { PromptUse } from '../../contracts/prompts.js';
import type { AttemptOutcome, ChatRequest, Usage } from './types.js';

/** What one row says: who called, which model, what it used and cost, and what a cache saved. */
export interface UsageRecord {
  tenantId?: string;
  taskId?: string;
  step?: string;
  keyId?: string;
  model: string;
  provider: string;
  usage: Usage;
  latencyMs: number;
  outcome: AttemptOutcome | 'cache_hit';
  error?: string;
  /** Dollars a cache saved: the prompt cache's reads (promptCacheSavings), or a whole call a cache answered. */
  savedUsd?: number;
  promptPrefix?: string;
  /** The versioned prompt the call was made with. */
  prompt?: PromptUse;
}

export async function recordUsage(db: Db, r: UsageRecord): Promise<void> {
  await db.query(
    `INSERT INTO model_usage (tenant_id, task_id, step, model, provider, input_tokens, output_tokens, cached_read_tokens, cache_write_tokens,
                              cost_usd, latency_ms, outcome, error, key_id, saved_usd, prompt_prefix, prompt_name, prompt_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
    [
      r.tenantId ?? null, r.taskId ?? null, r.step ?? null, r.model, r.provider, r.usage.inputTokens, r.usage.outputTokens,
      r.usage.cachedReadTokens ?? 0, r.usage.cacheWriteTokens ?? 0, r.usage.costUsd, r.latencyMs, r.outcome, r.error?.slice(0, 500) ?? null,
      r.keyId ?? null, r.savedUsd ?? 0, r.promptPrefix ?? null, r.prompt?.name ?? null, r.prompt?.version ?? null,
    ],
  );
}

/** A call one of Gatehouse's caches answered: what the model call it replaced would have cost. */
export interface SavedCost {
  tenantId: string;
  taskId?: string;
  step?: string;
  keyId?: string;
  /** The model whose answer was served. */
  model: string;
  savedUsd: number;
  outcome: 'cache_hit';
  promptPrefix?: string;
  prompt?: PromptUse;
  /** How long the cache took to answer; 0 when not measured. */
  latencyMs?: number;
}

/**
 * Records a cache hit in the usage ledger (the exact cache's in the gateway, the semantic cache's),
 * so usage reports show what the caches saved. Its provider is `cache`: no provider was called.
 */
export async function recordSavedCost(db: Db, hit: SavedCost): Promise<void> {
  await recordUsage(db, { ...hit, provider: 'cache', usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, latencyMs: hit.latencyMs ?? 0 });
}

/** What the prompt cache's reads saved against the uncached input price. */
export function promptCacheSavings(spec: ModelSpec, usage: Usage): number {
  const saved = ((usage.cachedReadTokens ?? 0) * (spec.inputPricePerMTok - spec.cachedInputPricePerMTok)) / 1_000_000;
  return Math.round(Math.max(0, saved) * 1e8) / 1e8;
}

/**
 * A short hash of a request's stable prefix — its system messages and its tools' schemas — the
 * part a provider's prefix cache can reuse from call to call. The same prompt template with other
 * user text hashes alike; another system prompt or tool set does not.
 */
export function promptPrefixHash(req: Pick<ChatRequest, 'messages' | 'tools'>): string {
  const system = req.messages.flatMap((m) => (m.role === 'system' ? [m.content] : []));
  const tools = (req.tools ?? []).map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
  return createHash('sha256').update(JSON.stringify({ system, tools })).digest('hex').slice(0, 16);
}
