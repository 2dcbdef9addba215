// Prompt templates: `{{name}}` replaced by a value, nothing else. A prompt needs no logic, no
// escaping (it is not HTML) and no partials, so a template library would add only ways to go
// wrong; what matters is that a stored version names exactly the variables its prompt has.
import type { PromptVariable } from './catalog.js';

const VARIABLE = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

/** The variables a template uses, in order of first use. */
export function variablesOf(template: string): string[] {
  return [...new Set([...template.matchAll(VARIABLE)].map((m) => m[1]!))];
}

/** What is wrong with a template for a prompt with these variables: each problem names its variable. */
export function templateProblems(template: string, declared: Record<string, PromptVariable>): string[] {
  const used = variablesOf(template);
  return [
    ...Object.entries(declared)
      .filter(([name, v]) => v.required && !used.includes(name))
      .map(([name]) => `must use the variable {{${name}}} (${declared[name]!.description})`),
    ...used.filter((name) => !(name in declared)).map((name) => `uses {{${name}}}, which this prompt does not have${Object.keys(declared).length ? ` (it has ${Object.keys(declared).map((n) => `{{${n}}}`).join(', ')})` : ''}`),
  ];
}

export function renderTemplate(template: string, values: Record<string, string | number> = {}): string {
  return template.replace(VARIABLE, (whole, name: string) => (name in values ? String(values[name]) : whole));
}
