// The agent's spans in OpenTelemetry's GenAI conventions (infra/spans.ts): `invoke_agent
// gatehouse` around a turn (its chat spans inside), `execute_tool {tool}` around a read tool and
// an approved write. Names, ids, counts and outcomes only: never a tool's arguments or output.
import { GATEHOUSE, GEN_AI, inSpan, setAttributes } from '../../infra/spans.js';
import type { DecideOutput } from './decide.js';

const AGENT_NAME = 'gatehouse';

export function inAgentSpan(input: { tenantId: string; taskId: string; model?: string }, fn: () => Promise<DecideOutput>): Promise<DecideOutput> {
  const attributes = { [GEN_AI.operation]: 'invoke_agent', [GEN_AI.agentName]: AGENT_NAME, [GEN_AI.conversationId]: input.taskId, [GEN_AI.requestModel]: input.model, [GATEHOUSE.tenant]: input.tenantId };
  return inSpan(`invoke_agent ${AGENT_NAME}`, attributes, async (span) => {
    const out = await fn();
    setAttributes(span, {
      [GEN_AI.responseModel]: out.model,
      [GEN_AI.inputTokens]: out.usage.inputTokens,
      [GEN_AI.outputTokens]: out.usage.outputTokens,
      [GATEHOUSE.costUsd]: out.usage.costUsd,
      'gatehouse.agent.tool_calls': out.calls.length,
    });
    return out;
  });
}

export function inToolSpan<T extends { ok: boolean; cache?: { outcome: string } }>(
  input: { tenantId: string; taskId: string; tool: string; callId: string },
  kind: 'read' | 'write',
  fn: () => Promise<T>,
): Promise<T> {
  const attributes = {
    [GEN_AI.operation]: 'execute_tool',
    [GEN_AI.toolName]: input.tool,
    [GEN_AI.toolType]: 'function',
    [GEN_AI.toolCallId]: input.callId,
    [GATEHOUSE.toolKind]: kind,
    [GATEHOUSE.tenant]: input.tenantId,
    [GATEHOUSE.task]: input.taskId,
  };
  return inSpan(`execute_tool ${input.tool}`, attributes, async (span) => {
    const out = await fn();
    setAttributes(span, { 'gatehouse.tool.ok': out.ok, [GATEHOUSE.cache]: out.cache?.outcome });
    return out;
  });
}
