// The configuration the agent benchmarks share between the benchmark process and a worker in
// a child process: the scripted model as the only chat model, hashing embeddings, the demo
// tenant, the task input every runAgent task starts with. Kept light (no Temporal client, no
// servers) so a child worker loads nothing it would not load in production.
import os from 'node:os';
import path from 'node:path';
import type { ActivityDeps } from '../../activities/index.js';
import { HashingEmbedder } from '../../activities/retrieval/embeddings.js';
import { z } from 'zod';
import type { ToolDefinition } from '../../activities/tools/types.js';
import { loadConfig, type Config } from '../../infra/config.js';
import type { Logger } from '../../infra/logger.js';
import type { Services } from '../../infra/services.js';
import type { AgentTaskInput } from '../../workflows/messages.js';

export const BENCH_MODEL = 'scripted';
export const BENCH_TENANT = 'bench';

/** The config every side of the agent benchmarks uses: the scripted model as the only chat model. */
export function agentBenchConfig(modelBaseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    LOG_LEVEL: 'silent',
    EMBEDDING_PROVIDER: 'hashing',
    GATEHOUSE_DATA_DIR: path.join(os.tmpdir(), 'gatehouse-bench-data'),
    GATEHOUSE_MODELS: JSON.stringify([{ name: BENCH_MODEL, baseUrl: modelBaseUrl, contextWindow: 128_000 }]),
    GATEHOUSE_CHAT_MODEL: BENCH_MODEL,
    // A fixed key, so the benchmark's client and a worker in a child process share it.
    PAYLOAD_ENCRYPTION_KEYS: `bench:${Buffer.alloc(32, 7).toString('base64')}`,
    // The agent benchmarks measure the loop; the cache benchmark measures the caches.
    GATEHOUSE_CACHE: 'off',
    ...env,
  });
}

export const benchEmbedder = () => new HashingEmbedder(384);

/** The activity dependencies, with the benchmark's extra tools (ActivityDeps.tools). */
export function agentDeps(services: Services, config: Config, log: Logger, tools: ToolDefinition[]): ActivityDeps {
  return { ...services, config, log, tools };
}

/** A runAgent task: the loop mode, budgets far beyond what the benchmark uses, no keep-open. */
export function agentInput(tools: string[], overrides: Partial<AgentTaskInput> = {}): AgentTaskInput {
  return {
    tenantId: BENCH_TENANT,
    collection: 'default',
    input: BENCH_INPUT,
    conversation: [],
    options: {
      mode: 'loop',
      tools,
      budgets: { maxSteps: 1000, maxTokens: 10_000_000, maxCostUsd: 1000, maxToolCalls: 1000, maxWallSeconds: 3600 },
      approvalTimeoutSeconds: 3600,
      onApprovalExpiry: 'reject',
      keepOpenSeconds: 0,
      maxMalformedToolCalls: 3,
    },
    ...overrides,
  };
}

export const BENCH_TOOL_NAME = 'bench_lookup';
export const BENCH_INPUT = 'benchmark task';

/** The tool every contender runs: in process, no I/O, returns at once. */
export function benchLookup(key: string): { value: string } {
  return { value: key.toUpperCase() };
}

/** The same tool as a Gatehouse tool definition (a read tool: runs at once, no approval). */
export const benchLookupTool: ToolDefinition = {
  name: BENCH_TOOL_NAME,
  description: 'Look a key up in the benchmark table.',
  parameters: z.object({ key: z.string().min(1) }),
  kind: 'read',
  async run(args: { key: string }) {
    const out = benchLookup(args.key);
    return { content: out, summary: `${args.key} → ${out.value}` };
  },
};

