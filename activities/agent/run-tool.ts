// Running a read-only tool for the agent loop: errors the model can fix (bad arguments, a
// query the guard refused) come back as an error observation, not a failed activity.
import type { ToolRegistry } from '../tools/registry.js';
import { InvalidToolArguments, type ProvenanceItem, type ToolServices } from '../tools/types.js';
import type { Usage } from '../gateway/types.js';
import type { ToolCacheOutcome } from '../cache/tools.js';

export interface RunToolInput {
  tenantId: string;
  taskId: string;
  collection: string;
  callId: string;
  tool: string;
  arguments: Record<string, unknown>;
  model?: string;
}

export type RunToolOutput = (
  | { ok: true; content: unknown; summary: string; usage?: Usage; model?: string; provenance: ProvenanceItem[]; latencyMs: number }
  | { ok: false; error: string; latencyMs: number }
) & {
  /** What the tool cache did with the call (absent when the layer is off or the tool declares no cache). */
  cache?: ToolCacheOutcome;
};

/** Tool output goes back to the model and into history: keep it to a readable size. */
const MAX_CONTENT_CHARS = 8_000;

export async function runReadTool(services: ToolServices, registry: ToolRegistry, input: RunToolInput, signal?: AbortSignal): Promise<RunToolOutput> {
  const started = performance.now();
  const tool = registry.get(input.tool);
  if (!tool || tool.kind !== 'read' || !tool.run) return { ok: false, error: `"${input.tool}" is not a runnable read-only tool`, latencyMs: 0 };
  const parsed = tool.parameters.safeParse(input.arguments);
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), latencyMs: 0 };
  try {
    const out = await tool.run(parsed.data, { ...services, tenantId: input.tenantId, taskId: input.taskId, collection: input.collection, model: input.model, signal });
    return {
      ok: true,
      content: fitContent(out.content),
      summary: out.summary,
      usage: out.usage,
      model: out.model,
      provenance: (out.provenance ?? []).map((p) => (p.type === 'tool_output' ? { ...p, callId: input.callId } : p)),
      latencyMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    if (err instanceof InvalidToolArguments) return { ok: false, error: err.message, latencyMs: Math.round(performance.now() - started) };
    throw err;
  }
}

function fitContent(content: unknown): unknown {
  const text = JSON.stringify(content) ?? 'null';
  if (text.length <= MAX_CONTENT_CHARS) return content;
  return { truncated: true, text: `${text.slice(0, MAX_CONTENT_CHARS)}…` };
}
