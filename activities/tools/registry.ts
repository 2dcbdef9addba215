// The tool registry: built-in tools plus the ones a deployment adds (TypeScript modules that
// export a ToolDefinition, handed to createWorker as `tools`). It turns zod parameters into
// the JSON Schema models read, and checks a model's tool call against them.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../infra/config.js';
import type { Db } from '../../infra/db/pool.js';
import { smtpDelivery } from './email-delivery.js';
import type { ToolSpec } from '../gateway/types.js';
import { askUserTool } from './ask-user.js';
import { issueRefundTool } from './issue-refund.js';
import { querySqlTool } from './query-sql.js';
import { searchDocumentsTool } from './search-documents.js';
import { sendEmailTool } from './send-email.js';
import type { ToolDefinition, ToolKind } from './types.js';
import { updateRecordTool } from './update-record.js';
import { searxngProvider, webSearchTool } from './web-search.js';

const TOOL_KINDS = Object.keys({ read: true, write: true, ask: true } satisfies Record<ToolKind, true>) as ToolKind[];

export type CheckedCall =
  | { ok: true; tool: ToolDefinition; arguments: Record<string, unknown> }
  | { ok: false; error: string };

export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition>();
  /** Each tool as the model sees it, converted once (every model turn of every task reads these). */
  private readonly toolSpecs = new Map<string, ToolSpec>();
  /** A hash of what the model reads of each tool (and its cache version): a cached result is keyed by it, so a changed tool never serves an old one. */
  private readonly definitionHashes = new Map<string, string>();

  constructor(tools: ToolDefinition[]) {
    for (const tool of tools) {
      if (!/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name)) throw new Error(`tool name "${tool.name}" must match [a-zA-Z0-9_-]{1,64}`);
      if (this.tools.has(tool.name)) throw new Error(`two tools are named "${tool.name}"`);
      if (!TOOL_KINDS.includes(tool.kind)) throw new Error(`tool "${tool.name}" has kind "${String(tool.kind)}"; a tool is ${TOOL_KINDS.join(', ')}`);
      if (tool.kind === 'read' && !tool.run) throw new Error(`read tool "${tool.name}" needs run`);
      if (tool.kind === 'write' && (!tool.preview || !tool.execute)) throw new Error(`write tool "${tool.name}" needs preview and execute`);
      // Risk used to be a word ('high'): a definition still saying so must not quietly lose its second approver.
      if (tool.risk !== undefined && typeof tool.risk !== 'function') throw new Error(`tool "${tool.name}": risk must be a function of the arguments returning { approvers, role?, reason }`);
      // A write served from a cache would be an action reported done and never taken.
      // (The type refuses it already; a definition can still arrive untyped, from JavaScript or a cast.)
      if ((tool as { cache?: unknown }).cache !== undefined && tool.kind !== 'read') throw new Error(`tool "${tool.name}" is a ${tool.kind} tool: only read tools may declare a result cache`);
      if (tool.cache !== undefined && !(Number.isInteger(tool.cache.ttlSeconds) && tool.cache.ttlSeconds > 0)) {
        throw new Error(`tool "${tool.name}": cache.ttlSeconds must be a positive whole number of seconds`);
      }
      this.tools.set(tool.name, tool);
      const parameters = z.toJSONSchema(tool.parameters, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
      delete parameters.$schema;
      const spec = { name: tool.name, description: tool.description, parameters };
      this.toolSpecs.set(tool.name, spec);
      this.definitionHashes.set(tool.name, createHash('sha256').update(JSON.stringify([spec, tool.cache?.version ?? ''])).digest('hex').slice(0, 16));
    }
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name);
  }

  /** The tool's definition hash (see definitionHashes); undefined for an unknown tool. */
  definitionHash(name: string): string | undefined {
    return this.definitionHashes.get(name);
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  /** The tools a task may use, as the model sees them. Unknown names are ignored. */
  specs(names: readonly string[]): ToolSpec[] {
    return names.flatMap((n) => this.toolSpecs.get(n) ?? []);
  }

  /** Check a model's tool call: a tool this task may use, JSON arguments that satisfy its schema. */
  check(name: string, rawArguments: string, allowed: readonly string[]): CheckedCall {
    const tool = this.tools.get(name);
    if (!tool || !allowed.includes(name)) {
      return { ok: false, error: `unknown tool "${name}"; available: ${allowed.join(', ')}` };
    }
    let json: unknown;
    try {
      json = rawArguments.trim() === '' ? {} : JSON.parse(rawArguments);
    } catch {
      return { ok: false, error: `arguments of ${name} are not valid JSON` };
    }
    const parsed = tool.parameters.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`);
      return { ok: false, error: `invalid arguments for ${name}: ${issues.join('; ')}` };
    }
    return { ok: true, tool, arguments: parsed.data as Record<string, unknown> };
  }
}

/**
 * Every built-in tool this deployment can run: web_search only when a provider is configured;
 * send_email delivers through SMTP when a relay is configured (and a database is given).
 */
export function builtinTools(config: Pick<Config['agents'], 'updatableColumns' | 'webSearchUrl' | 'smtp'>, db?: Db): ToolDefinition[] {
  const delivery = config.smtp && db ? smtpDelivery(db, config.smtp) : undefined;
  const tools: ToolDefinition[] = [
    searchDocumentsTool,
    querySqlTool,
    askUserTool,
    sendEmailTool(delivery),
    updateRecordTool(config.updatableColumns),
    issueRefundTool,
  ] as ToolDefinition[];
  if (config.webSearchUrl) tools.push(webSearchTool(searxngProvider(config.webSearchUrl)) as ToolDefinition);
  return tools;
}

/** Every built-in tool's name, web_search included: what benchmarks screen text against without a worker. */
export function builtinToolNames(): string[] {
  return builtinTools({ updatableColumns: {}, webSearchUrl: 'http://web-search.invalid' }).map((t) => t.name);
}
