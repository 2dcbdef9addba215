// Versioned prompts: the names of the prompts Gatehouse's activities send, and how a task pins
// a version. Version 1 of every prompt is the text in code (activities/prompts/catalog.ts); a
// tenant's stored versions (2, 3, …) override it once activated. Declared once here so the API,
// the workflows' options and the activities agree on the names.
import { z } from 'zod';

export const PROMPT_NAMES = [
  'rewrite.system',
  'answer.system',
  'agent.system',
  'plan.split',
  'plan.refine',
  'sql.system',
  'cache.classifier',
  'router.judge',
  'guard.injection',
  'guard.scope',
  'guard.toxicity',
  'guard.judge',
] as const;
export const promptName = z.enum(PROMPT_NAMES);
export type PromptName = z.infer<typeof promptName>;

/** The built-in version: the code's own text. */
export const BUILTIN_PROMPT_VERSION = 1;

/** Prompt name → the version a task uses, whatever the tenant's active version (answer and agent options). */
export const promptVersionPins = z.record(z.string(), z.number().int().positive());
export type PromptVersionPins = z.infer<typeof promptVersionPins>;

/** The version a model call used, as the gateway records and labels it. */
export const promptUse = z.object({ name: promptName, version: z.number().int().positive() });
export type PromptUse = z.infer<typeof promptUse>;

/** The bounded label a prompt version is counted and traced under: `answer.system@3`. */
export const promptLabel = (p: PromptUse) => `${p.name}@${p.version}`;
