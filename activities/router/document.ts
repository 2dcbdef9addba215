// A tenant's routing document: one validated, versioned document that names the intents its
// users have, with labeled examples, and where each one goes — a model, a retrieval
// collection, an agent with its tools, a stock answer, or a clarifying question. Tenants
// without one get DEFAULT_ROUTING: every request to the deployment's default chain.
// Stored in `routing_documents`; every change is a new version (like the guardrail policy).
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { contextOverflow, type RouteTarget } from '../../contracts/routing.js';
import type { Db } from '../../infra/db/pool.js';
import { storableString } from '../../infra/input-limits.js';
import { VersionedDocuments, type Versioned } from '../versioned-documents.js';
import { modelName, phrase, prose } from '../guardrails/policy-fields.js';

/** Bounds that keep a document cheap to classify against: every example is embedded once per version. */
export const ROUTING_LIMITS = { maxIntents: 50, maxExamplesPerIntent: 100, maxExamples: 2_000, maxKeywordsPerIntent: 50, maxExampleChars: 500, maxTools: 30 } as const;
const L = ROUTING_LIMITS;

const intentName = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, _ and -, starting with a letter (at most 64)');
const toolName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a tool name');
const collection = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a collection name');

const learned = z
  .object({
    /** The models the preference router may choose among (more than one). */
    candidates: z.array(modelName).min(2).max(10),
    /** Route to the cheapest candidate whose predicted chance of beating the strongest (ties half) is at least this; the strongest's own is ½. */
    threshold: z.number().min(0).max(0.5).default(0.45),
    /** Record what it would have chosen, and use the route's own model. */
    shadow: z.boolean().default(true),
  })
  .strict();

const cache = z
  .object({
    /** The semantic cache on this route: off, shadow (measured, nothing served) or on; absent: the deployment's GATEHOUSE_CACHE. */
    semantic: z.enum(['off', 'shadow', 'on']).optional(),
    /** Cosine similarity a cached question must reach on this route; absent: GATEHOUSE_CACHE_SEMANTIC_THRESHOLD. */
    threshold: z.number().min(0.5).max(1).optional(),
    /** Also cache answers sampled above temperature 0.2. */
    allowSampling: z.boolean().optional(),
  })
  .strict();

export const routeTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('model'), model: modelName.optional(), learned: learned.optional(), overflow: contextOverflow.optional(), cache: cache.optional() }).strict(),
  z.object({ kind: z.literal('retrieval'), collection, model: modelName.optional(), overflow: contextOverflow.optional(), cache: cache.optional() }).strict(),
  z.object({ kind: z.literal('agent'), tools: z.array(toolName).min(1).max(L.maxTools), model: modelName.optional(), overflow: contextOverflow.optional() }).strict(),
  z.object({ kind: z.literal('stock'), answer: prose }).strict(),
  z.object({ kind: z.literal('clarify'), question: prose }).strict(),
]);

const intent = z
  .object({
    name: intentName,
    /** What the intent is, for the optional model classifier ("questions about an invoice or a charge"). */
    description: storableString(300).optional(),
    /**
     * How a clarifying question names this intent: "do you want to freeze your account" and "are
     * you talking about the weather" make "Do you want to freeze your account, or are you
     * talking about the weather?"
     */
    clarifyAs: storableString(200).min(2).optional(),
    /** Phrases that decide the intent outright (the rule stage: whole words, plural-tolerant). */
    keywords: z.array(phrase).max(L.maxKeywordsPerIntent).default([]),
    /** Labeled example requests: their embeddings' centroid is the intent's place in the nearest-centroid stage. */
    examples: z.array(storableString(L.maxExampleChars).min(2)).max(L.maxExamplesPerIntent).default([]),
    route: routeTargetSchema,
  })
  .strict();

export const routingDocumentSchema = z
  .object({
    intents: z
      .array(intent)
      .max(L.maxIntents)
      .default([])
      .refine((xs) => new Set(xs.map((i) => i.name)).size === xs.length, 'intent names must be unique')
      .refine((xs) => xs.reduce((n, i) => n + i.examples.length, 0) <= L.maxExamples, `at most ${L.maxExamples} examples across intents`),
    /** Where a request no intent claims goes. */
    fallback: routeTargetSchema.default({ kind: 'model' }),
    classifier: z
      .object({
        /** Below this cosine similarity to the nearest intent, the centroid stage does not decide. */
        minSimilarity: z.number().min(-1).max(1).default(0.45),
        /** When the two nearest intents are this close, the request is ambiguous: ask which one is meant. */
        ambiguityMargin: z.number().min(0).max(1).default(0.03),
        /**
         * How much an intent's single nearest example counts against its examples' centroid in the
         * intent's similarity (0: the centroid alone; 1: the nearest example alone). A centroid of
         * varied examples is near none of them; one close example is good evidence.
         */
        exampleWeight: z.number().min(0).max(1).default(0.5),
        /**
         * A lone keyword is outvoted by the examples when another intent is nearer (see exampleWeight) than
         * the keyword's intent by at least this ("still waiting on my toner shipment": "toner" is a
         * supplies keyword, the sentence is about an order). 2 turns it off: keywords always decide.
         */
        keywordOverrideMargin: z.number().min(0).max(2).default(0.1),
        /** A small model asked (through the gateway) when neither rules nor centroids decide. */
        model: modelName.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((doc, ctx) => {
    doc.intents.forEach((i, n) => {
      if (i.keywords.length === 0 && i.examples.length === 0) ctx.addIssue({ code: 'custom', path: ['intents', n], message: 'an intent needs keywords or examples' });
    });
  });

export type RoutingDocument = z.infer<typeof routingDocumentSchema>;
export type RoutingDocumentInput = z.input<typeof routingDocumentSchema>;
export type Intent = RoutingDocument['intents'][number];

export const DEFAULT_ROUTING: RoutingDocument = routingDocumentSchema.parse({});

export type VersionedRouting = Versioned<RoutingDocument>;

/** What the document alone cannot say: that the models it names are in the deployment's registry. */
export function unknownNames(doc: RoutingDocument, known: { models: readonly string[] }): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const checkTarget = (t: RouteTarget, path: string) => {
    const models = [...('model' in t && t.model ? [t.model] : []), ...(t.kind === 'model' && t.learned ? t.learned.candidates : [])];
    for (const m of models) if (!known.models.includes(m)) problems.push({ path, message: `unknown model "${m}"` });
  };
  doc.intents.forEach((i, n) => checkTarget(i.route, `intents.${n}.route`));
  checkTarget(doc.fallback, 'fallback');
  if (doc.classifier.model && !known.models.includes(doc.classifier.model)) problems.push({ path: 'classifier.model', message: `unknown model "${doc.classifier.model}"` });
  return problems;
}

/** Routing documents are read for every request: a short cache spares the query (versioned-documents.ts). */
export class RoutingDocuments {
  private readonly store: VersionedDocuments<RoutingDocument>;

  constructor(db: Db, ttlMs = 5_000) {
    this.store = new VersionedDocuments(db, { table: 'routing_documents', schema: routingDocumentSchema, fallback: DEFAULT_ROUTING, invalid: invalidRouting, ttlMs });
  }

  current(tenantId: string): Promise<VersionedRouting> {
    return this.store.current(tenantId);
  }

  /** Store a new version (the caller validated the document). */
  save(tenantId: string, document: RoutingDocumentInput, createdBy: string): Promise<VersionedRouting> {
    return this.store.save(tenantId, document, createdBy);
  }
}

export const INVALID_ROUTING = 'InvalidRoutingDocument';

function invalidRouting(tenantId: string, version: number, error: z.ZodError): ApplicationFailure {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return ApplicationFailure.create({
    message: `routing document version ${version} of tenant ${tenantId} cannot be used (${where}${(issue?.message ?? 'invalid').slice(0, 200)}); PUT /v1/router/document to replace it`,
    type: INVALID_ROUTING,
    nonRetryable: true,
  });
}
