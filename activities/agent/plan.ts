// Plan-and-execute: the model splits a task into sub-tasks (with dependencies), and after
// they ran, says whether the plan is complete or which sub-tasks to add.
import type { ModelGateway } from '../gateway/gateway.js';
import type { Usage } from '../gateway/types.js';
import type { PromptUse } from '../../contracts/prompts.js';
import { promptUse, renderPrompt, resolvePrompt } from '../prompts/store.js';

export interface PlannedSubtask {
  id: string;
  title: string;
  instruction: string;
  dependsOn: string[];
}

export interface PlanInput {
  tenantId: string;
  taskId: string;
  task: string;
  tools: string[];
  model?: string;
  /** On refinement: what the sub-tasks so far produced. */
  done?: Array<{ id: string; title: string; result: string }>;
}

export interface PlanOutput {
  subtasks: PlannedSubtask[];
  /** True when the results so far complete the task (refinement only). */
  complete: boolean;
  model: string;
  usage: Usage;
  latencyMs: number;
  prompt?: PromptUse;
}

const MAX_SUBTASKS = 6;

export async function planTask(gateway: ModelGateway, input: PlanInput, signal?: AbortSignal): Promise<PlanOutput> {
  const refining = (input.done?.length ?? 0) > 0;
  const prompt = await resolvePrompt(gateway, refining ? 'plan.refine' : 'plan.split', input);
  const res = await gateway.chat(
    {
      prompt: promptUse(prompt),
      messages: [
        // Fixed text only in the system prompt, the task's own tools and words after it: the prefix a provider's prompt cache reuses.
        { role: 'system', content: renderPrompt(prompt, { maxSubtasks: MAX_SUBTASKS }) },
        { role: 'user', content: `Tools: ${input.tools.join(', ')}\n\nTask: ${input.task}${refining ? `\n\nDone:\n${JSON.stringify(input.done)}` : ''}` },
      ],
      model: input.model,
      responseFormat: 'json',
      offline: { kind: 'plan', task: input.task, tools: input.tools },
      signal,
    },
    { tenantId: input.tenantId, taskId: input.taskId, step: 'plan' },
  );
  let parsed: { complete?: boolean; subtasks?: Array<Partial<PlannedSubtask>> } = {};
  try {
    parsed = JSON.parse(res.content) as typeof parsed;
  } catch {
    parsed = {};
  }
  const offset = input.done?.length ?? 0;
  const subtasks = (parsed.subtasks ?? []).slice(0, MAX_SUBTASKS).flatMap((s, i) =>
    typeof s.instruction === 'string' && s.instruction.trim()
      ? [{
          id: typeof s.id === 'string' && s.id ? s.id : `s${offset + i + 1}`,
          title: typeof s.title === 'string' && s.title ? s.title : s.instruction.slice(0, 60),
          instruction: s.instruction,
          dependsOn: Array.isArray(s.dependsOn) ? s.dependsOn.filter((d): d is string => typeof d === 'string') : [],
        }]
      : [],
  );
  // Offline, refinement has nothing to add: the rule-based plan is complete once run.
  const complete = refining ? (parsed.complete ?? res.model === 'local') || subtasks.length === 0 : false;
  return { subtasks: refining && complete ? [] : subtasks, complete, model: res.model, usage: res.usage, latencyMs: res.latencyMs, prompt: promptUse(prompt) };
}
