// The offline `local` model as a provider: it reads the request's structured task, not its text.
import { randomUUID } from 'node:crypto';
import { countTokens } from '../../tokens.js';
import { runLocalModel } from '../local/index.js';
import { estimatePromptTokens, type ModelProvider, type ModelReply } from './provider.js';

export function localProvider(embedQueries: ((texts: string[]) => Promise<Float32Array[]>) | undefined): ModelProvider {
  return {
    async call(_spec, req): Promise<ModelReply> {
      const content = await runLocalModel(req.offline, embedQueries);
      const tokens = { inputTokens: estimatePromptTokens(req), outputTokens: countTokens(content), cachedReadTokens: 0, cacheWriteTokens: 0 };
      // The offline planner answers an agent step in the shape a tool-calling model would.
      if (req.offline?.kind === 'agent_step') {
        const step = JSON.parse(content) as { content?: string; toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }> };
        // Ids must be unique across the whole transcript: results are paired with calls by id.
        const toolCalls = (step.toolCalls ?? []).map((c) => ({ id: `local_${randomUUID().slice(0, 12)}`, name: c.name, arguments: JSON.stringify(c.arguments) }));
        return { content: step.content ?? '', toolCalls, tokens };
      }
      // The local model writes its answer at once (its spec does not stream): the gateway hands it over in one piece.
      return { content, toolCalls: [], tokens };
    },
    classify: () => undefined,
  };
}
