// Table of contents of everything with side effects. `createActivities(deps)` is what the
// worker registers: each component's activities, built from the same injected dependencies
// and sharing the PII vault, the policy cache and the tool registry. Activities are scheduled
// by name from recorded histories: a name here never changes.
import { createAgentActivities } from './agent/activities.js';
import { createAnsweringActivities } from './answering.js';
import type { ActivityDeps } from './deps.js';
import { createGuardrailActivities } from './guardrails/activities.js';
import { GuardrailPolicies } from './guardrails/policy.js';
import { VaultBoundary } from './guardrails/vault-boundary.js';
import { PiiVault } from './guardrails/vault.js';
import { createRetrievalActivities } from './retrieval/activities.js';
import { createRouterActivities } from './router/activities.js';
import { createCacheActivities } from './cache/activities.js';
import { createForkActivities } from './forks/recorded-calls.js';
import { builtinTools, ToolRegistry } from './tools/registry.js';

export function createActivities(deps: ActivityDeps) {
  const vault = new PiiVault(deps.db, deps.keyRing);
  const policies = new GuardrailPolicies(deps.db);
  const registry = new ToolRegistry([...builtinTools(deps.config.agents, deps.db), ...(deps.tools ?? [])]);
  return {
    ...createRetrievalActivities(deps),
    ...createRouterActivities(deps),
    ...createCacheActivities(deps),
    ...createAnsweringActivities(deps, { vault }),
    ...createGuardrailActivities(deps, { vault, policies, toolNames: registry.names() }),
    ...createAgentActivities(deps, { registry, boundary: new VaultBoundary(vault, policies) }),
    ...createForkActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

export type { ActivityDeps };
export type { TaskPolicy, GuardrailPolicy } from './guardrails/policy.js';
export type { IngestionSummary } from './retrieval/ingest.js';
export type { RetrieveInput } from './retrieval/activities.js';
export type { RouteInput, RouteOutput } from './router/router.js';
