// The exact cache's tool layer: a read tool's result, served again to an identical call within
// the tenant for as long as the tool itself says (`cache.ttlSeconds` on its definition; a tool
// without one is never cached, a write or ask tool cannot declare one). The key is the tool's
// name, its definition hash (what the model reads of it), the call's arguments, the collection
// and the model that may write part of the work (query_sql's SQL).
//
// What is never stored:
// - a call whose arguments carry a PII placeholder: [EMAIL_ADDRESS_1] means one value in one
//   task and another in the next, so the same text is not the same call;
// - a result that carries PII — masked (its placeholders belong to the task that masked them)
//   or not (a policy may let a class through to the model; cache_entries never hold raw PII);
// - a failed call, and one whose output the injection screen flagged or held back;
// - a time-sensitive call ("orders placed today"), as in the model layer.
// A write action makes the tenant's reads stale: executing or compensating one evicts every
// tool entry of its tenant in the ledger's transaction (evictToolResults), and a result read
// while a write committed is not kept (the ledger's mark is compared before and after).
import type { Db, DbClient } from '../../infra/db/pool.js';
import type { Logger } from '../../infra/logger.js';
import { detectPii } from '../guardrails/pii.js';
import type { GuardCheck } from '../guardrails/types.js';
import { collectStrings } from '../guardrails/vault.js';
import type { ProvenanceItem, ToolDefinition } from '../tools/types.js';
import { carriesPlaceholder, timeSensitive } from './cacheability.js';
import { requestKey, type CacheAddress, type ExactCache } from './exact.js';

/** What the tool layer did with one call: the tool step's `cache` detail. */
export interface ToolCacheOutcome {
  layer: 'tool';
  outcome: 'hit' | 'stored' | 'uncacheable';
  ageSeconds?: number;
  /** A hit: what the call cost when it was made (query_sql's model turn). */
  savedUsd?: number;
  reason?: string;
}

/** A call as the agent's read-tool activity gets it (arguments still masked). */
export interface ToolCall {
  tenantId: string;
  collection: string;
  callId: string;
  tool: string;
  arguments: Record<string, unknown>;
  model?: string;
}

/** The screened, PII-free output as the model read it. */
interface CachedOutput {
  content: unknown;
  summary: string;
  provenance: ProvenanceItem[];
}

/**
 * What an entry holds. The output is kept as JSON text: jsonb reorders an object's keys, and a
 * row's columns must come back in the order the query named them.
 */
interface StoredResult {
  output: string;
  /** What the call cost (query_sql's model turn): what a hit saves. */
  costUsd: number;
}

/** A fresh result, as the activity has it once the guard is through with it. */
export interface ToolResult {
  ok: boolean;
  content?: unknown;
  summary?: string;
  provenance?: ProvenanceItem[];
  costUsd?: number;
  checks?: GuardCheck[];
}

/** Where a call's result is kept, or why it is not; undefined when the tool declares no cache. */
export type ToolCachePlan = { address: CacheAddress; ttlSeconds: number } | { outcome: ToolCacheOutcome };

const uncacheable = (reason: string): { outcome: ToolCacheOutcome } => ({ outcome: { layer: 'tool', outcome: 'uncacheable', reason } });

export class ToolResultCache {
  constructor(
    private readonly db: Db,
    private readonly cache: ExactCache,
    private readonly log: Logger,
  ) {}

  plan(tool: ToolDefinition, definitionHash: string, call: ToolCall): ToolCachePlan | undefined {
    if (tool.kind !== 'read' || !tool.cache) return undefined;
    // The values the tool reads, not the argument names.
    const values: string[] = [];
    collectStrings(call.arguments, values);
    const text = values.join('\n');
    if (carriesPlaceholder(text)) return uncacheable('carries masked PII');
    const time = timeSensitive(text);
    if (time) return uncacheable(`time-sensitive ("${time}")`);
    const key = requestKey({ tool: call.tool, definition: definitionHash, arguments: call.arguments, collection: call.collection, model: call.model });
    return { address: { tenantId: call.tenantId, layer: 'tool', scope: '', key }, ttlSeconds: tool.cache.ttlSeconds };
  }

  /** The stored result, its tool_output evidence re-attributed to this call; undefined on a miss (or a failed lookup). */
  async lookup(address: CacheAddress, callId: string): Promise<{ content: unknown; summary: string; provenance: ProvenanceItem[]; savedUsd: number; ageSeconds: number } | undefined> {
    const hit = await this.cache.get<StoredResult>(address).catch((err: unknown) => {
      this.log.warn({ err: String(err), tenantId: address.tenantId }, 'tool cache lookup failed');
      return undefined;
    });
    if (!hit) return undefined;
    const output = JSON.parse(hit.value.output) as CachedOutput;
    const provenance = output.provenance.map((p) => (p.type === 'tool_output' ? { ...p, callId } : p));
    return { content: output.content, summary: output.summary, provenance, savedUsd: hit.value.costUsd, ageSeconds: hit.ageSeconds };
  }

  /** The tenant's write mark: taken before a read runs, compared after its result is stored. */
  writeMark(tenantId: string): Promise<string> {
    return ledgerMark(this.db, tenantId);
  }

  /** Keep a fresh result if it may be kept (see the top of this file). */
  async store(plan: { address: CacheAddress; ttlSeconds: number }, mark: string, result: ToolResult): Promise<ToolCacheOutcome> {
    const refusal = whyNotStored(result);
    if (refusal) return uncacheable(refusal).outcome;
    const output: CachedOutput = { content: result.content, summary: result.summary ?? '', provenance: result.provenance ?? [] };
    const stored: StoredResult = { output: JSON.stringify(output), costUsd: result.costUsd ?? 0 };
    try {
      await this.cache.put(plan.address, stored, plan.ttlSeconds);
      // A write that committed while this read ran may have changed what it read (and its
      // eviction ran before this entry existed): the entry goes again.
      if ((await ledgerMark(this.db, plan.address.tenantId)) !== mark) {
        await this.db.query('DELETE FROM cache_entries WHERE tenant_id = $1 AND layer = $2 AND scope = $3 AND key = $4', [plan.address.tenantId, 'tool', plan.address.scope, plan.address.key]);
        return uncacheable('a write action ran meanwhile').outcome;
      }
    } catch (err) {
      // A result matters more than its cache entry.
      this.log.warn({ err: String(err), tenantId: plan.address.tenantId }, 'could not store a tool result');
      return uncacheable('the store failed').outcome;
    }
    return { layer: 'tool', outcome: 'stored' };
  }
}

function whyNotStored(result: ToolResult): string | undefined {
  if (!result.ok) return 'the call failed';
  const checks = result.checks ?? [];
  if (checks.some((c) => c.check.startsWith('injection_') && c.verdict !== 'pass')) return 'flagged or held back by the injection screen';
  if (checks.some((c) => c.check === 'pii_tool_output' && c.verdict !== 'pass')) return 'carries masked PII';
  const strings: string[] = [];
  collectStrings([result.content, result.summary, result.provenance], strings);
  if (strings.some(carriesPlaceholder)) return 'carries masked PII';
  // What the task's policy let through unmasked still never goes into cache_entries.
  if (strings.some((s) => detectPii(s).length > 0)) return 'carries PII';
  return undefined;
}

/** Every action the tenant executed or compensated, counted: any write moves it on. */
async function ledgerMark(db: Db, tenantId: string): Promise<string> {
  const { rows } = await db.query<{ mark: string }>("SELECT count(*) || ':' || count(compensated_at) AS mark FROM action_ledger WHERE tenant_id = $1", [tenantId]);
  return rows[0]?.mark ?? '0:0';
}

/** A write changes what the tenant's reads return: all its tool entries go, in the write's own transaction. */
export async function evictToolResults(tx: Pick<DbClient, 'query'>, tenantId: string): Promise<void> {
  await tx.query("DELETE FROM cache_entries WHERE tenant_id = $1 AND layer = 'tool'", [tenantId]);
}
