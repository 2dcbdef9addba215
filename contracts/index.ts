// Table of contents of the shapes that cross a boundary (API ↔ workflow ↔ activity), each
// declared once as a zod schema with its type from `z.infer`. Sandbox-safe: zod (and
// @temporalio/common's search-attribute keys) only, no Node built-ins, nothing else from the
// repo, so workflow code imports it as freely as the API and the activities do.
export * from './task.js';
export * from './retrieval.js';
export * from './guardrails.js';
export * from './output-checks.js';
export * from './approvals.js';
export * from './review.js';
export * from './answer.js';
export * from './agent.js';
export * from './ingest.js';
export * from './refusals.js';
export * from './tools.js';
export * from './search-attributes.js';
export * from './gateway-limits.js';
export * from './gateway.js';
export * from './routing.js';
export * from './preferences.js';
export * from './prompts.js';
export * from './feedback.js';
