// The offline `local` model: what answers when no model endpoint is configured. It is not a
// language model and does not pretend to be one; each kind of request has a part of its own:
// - answer.ts: extractive answers, quoted from the retrieved passages with their [n] citations;
// - rewrite.ts: rule-based question rewriting (the entity a follow-up refers to);
// - sql.ts: rule-based text-to-SQL for a few question shapes of the demo domain;
// - agent.ts: a rule-based agent planner that speaks the tool-calling protocol;
// - classifier.ts: the injection classifier, nearest labeled exemplars by sentence embedding;
// - cacheability.ts: rules on whether an answer may be shared (the response cache's classifier).
// Only the gateway calls it (gateway.ts, for a model whose provider is `local`).
import type { OfflineTask } from '../types.js';
import { planNextStepWithRules, planSubtasksWithRules } from './agent.js';
import { answerExtractively } from './answer.js';
import { classifyCacheabilityLocally } from './cacheability.js';
import { classifyLocally } from './classifier.js';
import { rewriteWithRules } from './rewrite.js';
import { runLocalSqlTask } from './sql.js';
import type { EmbedTexts } from './types.js';

export type { EmbedTexts };

export async function runLocalModel(task: OfflineTask | undefined, embed?: EmbedTexts): Promise<string> {
  if (!task) {
    return 'The offline local model only answers from retrieved documents, rewrites questions, writes SQL for known question shapes and follows a rule-based agent plan; set OPENAI_BASE_URL to use a language model.';
  }
  if (task.kind === 'answer') return answerExtractively(task.question, task.passages, embed);
  if (task.kind === 'sql') return runLocalSqlTask(task);
  if (task.kind === 'agent_step') return JSON.stringify(await planNextStepWithRules(task.state, embed));
  if (task.kind === 'plan') return JSON.stringify(planSubtasksWithRules(task.task));
  if (task.kind === 'classify') return classifyLocally(task.task, task.text, embed);
  if (task.kind === 'cacheability') return classifyCacheabilityLocally(task.question);
  return JSON.stringify(rewriteWithRules(task.question, task.conversation));
}
