// What a tool is. Built-in tools and the ones users add (a TypeScript module exporting a
// ToolDefinition) have the same shape: a name and description the model reads, zod
// parameters (sent to the model as JSON Schema, and checked before anything runs), a kind,
// and an executor. Write tools also describe what they would do (a dry-run preview), how much
// a call risks (who must approve it), and may declare a compensation an operator can trigger
// after they ran. What sets a tool apart is declared here, never special-cased by its name.
import type { z } from 'zod';
import type { ToolKind } from '../../contracts/tools.js';
import type { Db, DbClient, DbCapabilities } from '../../infra/db/pool.js';
import type { Logger } from '../../infra/logger.js';
import type { ExactCache } from '../cache/exact.js';
import type { ModelGateway } from '../gateway/gateway.js';
import type { Usage } from '../gateway/types.js';
import type { Embedder } from '../retrieval/embeddings.js';
import type { RetrievalOptions } from '../retrieval/types.js';

export type { ToolKind };

/**
 * What a write call needs before it runs, by the tool's own measure. A tenant's approval
 * policy for the tool, when it has one, decides instead.
 */
export interface ToolRisk {
  /** People who must approve, at least one (only a tenant's policy lets a write run unasked). */
  approvers: number;
  /** The permission each approver needs; default `approvals:write`. */
  role?: string;
  /** Why, in words, for the approver and the ledger. */
  reason: string;
}

/** Where a piece of evidence came from: the user, a document chunk, or another tool's output. */
export type ProvenanceItem =
  | { type: 'user_message'; excerpt: string }
  | { type: 'document_chunk'; chunkId: string; documentId: string; version: number; score: number; excerpt: string }
  | { type: 'tool_output'; tool: string; callId: string; excerpt: string };

export interface ToolServices {
  db: Db;
  caps: DbCapabilities;
  embedder: Embedder;
  gateway: ModelGateway;
  log: Logger;
  retrieval: Omit<RetrievalOptions, 'filter'>;
  /** The cache (GATEHOUSE_CACHE), for a tool that reads through one of its layers (search_documents: retrieval). */
  cache?: ExactCache;
}

export interface ToolContext extends ToolServices {
  tenantId: string;
  taskId: string;
  collection: string;
  model?: string;
  signal?: AbortSignal;
}

export interface ToolOutput {
  /** What the model reads next: compact, text or JSON-able. */
  content: unknown;
  /** One line for the step log and the event stream. */
  summary: string;
  usage?: Usage;
  model?: string;
  /** Evidence this output carries (chunks, rows), so a later action can say what led to it. */
  provenance?: ProvenanceItem[];
}

export interface ActionPreview {
  /** One line a human reads first, e.g. "Refund $79.00 on order 1004 (Emily Doe)". */
  summary: string;
  /** What would change: rows before/after, the email as it would be sent. */
  changes: unknown;
}

export interface WriteContext extends ToolContext {
  /** The ledger transaction: a write that belongs to the database commits with the ledger row. */
  tx: DbClient;
  /** Unique per action (workflow id + approval id); executors pass it on to anything external. */
  idempotencyKey: string;
}

/**
 * A read tool's result cache (the cache's `tool` layer, activities/cache/tools.ts): how long a
 * result is served to an identical call within the tenant. A tool whose results must always be
 * fresh declares none.
 */
export interface ToolCacheSpec {
  ttlSeconds: number;
  /** Bump it when `run` changes what the same arguments return (the schema and description are hashed already). */
  version?: string;
}

interface ToolDefinitionBase<P extends z.ZodType> {
  name: string;
  description: string;
  parameters: P;
  /**
   * Read tools: the output is the tenant's own data read for the user's own question (query_sql
   * rows), so a recipient, amount or id found in it may authorise a write. Default: untrusted.
   */
  trustedOutput?: boolean;
  /** Write tools: who must approve this call (default: one approver; see tools/risk.ts). */
  risk?(args: z.infer<P>): ToolRisk;
  /** Read tools: run. */
  run?(args: z.infer<P>, ctx: ToolContext): Promise<ToolOutput>;
  /** Write tools: a dry run, no side effects. Throws InvalidToolArguments for arguments that cannot apply (no such order). */
  preview?(args: z.infer<P>, ctx: ToolContext): Promise<ActionPreview>;
  /** Write tools: do it, exactly once (the ledger calls this at most once per idempotency key that commits). */
  execute?(args: z.infer<P>, ctx: WriteContext): Promise<ToolOutput>;
  compensation?: {
    description: string;
    execute(args: z.infer<P>, result: unknown, ctx: WriteContext): Promise<ToolOutput>;
  };
  /**
   * Write tools: what follows the commit (e.g. handing a queued email to SMTP). Runs after
   * every successful execution, replays included, so it must be idempotent; a throw makes the
   * activity retry (the ledger then replays the execution and this runs again).
   */
  afterCommit?(result: unknown, ctx: ToolContext): Promise<unknown>;
}

/**
 * A tool. Only a read tool may declare a result cache: a write's result is an action taken, an
 * ask's is the user's reply, and neither may ever be served again (the registry checks it too,
 * for definitions that reach it untyped).
 */
export type ToolDefinition<P extends z.ZodType = z.ZodType> =
  | (ToolDefinitionBase<P> & { kind: 'read'; cache?: ToolCacheSpec })
  | (ToolDefinitionBase<P> & { kind: Exclude<ToolKind, 'read'>; cache?: never });

export class InvalidToolArguments extends Error {
  override name = 'InvalidToolArguments';
}
