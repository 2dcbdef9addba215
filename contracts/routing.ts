// The router's contract: where a routing document can send a request, and the decision a task
// records (its `route` step and its result), so an operator sees which route a task took and why.
import { z } from 'zod';

/** What to do when a request's context outgrows the chosen model's window. */
export const contextOverflow = z.enum([
  /** Cut the longest message after the system prompt from its end, keeping its head, until it fits. */
  'truncate',
  /** Move to the smallest model in the registry whose window fits, with the same capabilities. */
  'larger_model',
]);
export type ContextOverflow = z.infer<typeof contextOverflow>;

/** How a route picks among candidate models from learned preferences (see the preference router). */
export const learnedChoice = z.object({
  candidates: z.array(z.string()),
  threshold: z.number(),
  /** Compute and record the choice, but use the route's own model. */
  shadow: z.boolean(),
});

/** What the caches may do with a route's answers: the semantic layer's mode and threshold, sampling. */
export const routeCache = z.object({
  /** The semantic cache on this route: `off`, `shadow` (measure, serve nothing) or `on`; absent follows the deployment. */
  semantic: z.enum(['off', 'shadow', 'on']).optional(),
  /** The cosine similarity a cached question must reach here (a route of near-identical questions can ask more). */
  threshold: z.number().optional(),
  /** Cache answers sampled above temperature 0.2 (by default one draw of many is not the answer). */
  allowSampling: z.boolean().optional(),
});
export type RouteCache = z.infer<typeof routeCache>;

/** Where a route sends a request, as the workflow holds it (the document's shape, validated). */
export const routeTarget = z.discriminatedUnion('kind', [
  /** Answer with a model: this one, or the deployment's default chain. */
  z.object({ kind: z.literal('model'), model: z.string().optional(), learned: learnedChoice.optional(), overflow: contextOverflow.optional(), cache: routeCache.optional() }),
  /** Answer from a retrieval collection (answerQuestion's RAG; an agent's search_documents). */
  z.object({ kind: z.literal('retrieval'), collection: z.string(), model: z.string().optional(), overflow: contextOverflow.optional(), cache: routeCache.optional() }),
  /** Work as an agent with these tools. */
  z.object({ kind: z.literal('agent'), tools: z.array(z.string()), model: z.string().optional(), overflow: contextOverflow.optional() }),
  /** A fixed answer the tenant wrote: no model call. */
  z.object({ kind: z.literal('stock'), answer: z.string() }),
  /** Ask the user what they mean instead of guessing. */
  z.object({ kind: z.literal('clarify'), question: z.string() }),
]);
export type RouteTarget = z.infer<typeof routeTarget>;

/** Which stage of the classifier decided: a keyword rule, the nearest examples, a model, or none. */
export const routeStage = z.enum(['rules', 'centroid', 'model', 'fallback', 'named']);

export const routeDecision = z.object({
  /** The routing document's version (0: the built-in one, a single default route). */
  version: z.number().int(),
  /** The intent chosen; null when the request fell through to the document's fallback or is ambiguous. */
  intent: z.string().nullable(),
  stage: routeStage,
  target: routeTarget,
  /** The model the route settles on after a learned choice; undefined means the default chain. */
  model: z.string().optional(),
  /** Cosine similarity of the query to the chosen (or nearest) intent's examples, when the centroid stage ran. */
  similarity: z.number().optional(),
  /** The two nearest intents and their similarities (why a request was found ambiguous). */
  nearest: z.array(z.object({ intent: z.string(), similarity: z.number() })).optional(),
  /** What the preference router chose (or would have, in shadow mode). */
  learned: z.object({ model: z.string(), shadow: z.boolean(), winProbability: z.record(z.string(), z.number()).optional() }).optional(),
});
export type RouteDecision = z.infer<typeof routeDecision>;
