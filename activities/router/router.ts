// The router: a request's text and its tenant's routing document in, the route it takes out.
// Runs beside the input guard where it can (see `masked`): rules and an in-process embedder see
// the raw text; anything that would send it out of the process (a remote embedder, the
// classifier model) waits for the masked text instead.
import type { RouteDecision, RouteTarget } from '../../contracts/routing.js';
import { NO_USAGE, type Usage } from '../../contracts/task.js';
import type { ModelGateway } from '../gateway/gateway.js';
import type { CallContext } from '../gateway/types.js';
import type { Embedder } from '../retrieval/embedder.js';
import { clarifyingQuestion, IntentClassifier, type Classification } from './classify.js';
import { INVALID_ROUTING, type RoutingDocument, type RoutingDocuments } from './document.js';
import type { PreferenceRouter } from './preferences.js';

export interface RouteInput {
  tenantId: string;
  taskId?: string;
  text: string;
  /** True once the input guard has masked the text's PII: only then may it leave this process. */
  masked: boolean;
  /** An intent the caller named (the proxy's `model: "route:<intent>"`): no classifier runs. */
  named?: string;
}

export type RouteOutput =
  | { decided: true; decision: RouteDecision; usage: Usage; latencyMs: number }
  /** The raw text was not enough to decide without sending it out: route again with the masked text. */
  | { decided: false; latencyMs: number };

export { INVALID_ROUTING };

export class Router {
  private readonly classifier: IntentClassifier;
  private readonly embedsInProcess: boolean;

  /** The documents it routes by: the API saves through them, so this process sees a change at once. */
  readonly documents: RoutingDocuments;

  constructor(
    private readonly deps: {
      documents: RoutingDocuments;
      /** Without a gateway (an API process without a worker) the classifier's model stage is skipped. */
      gateway?: Pick<ModelGateway, 'chat'>;
      embedder: Embedder;
      /** The learned router a model route's `learned` asks; without it such routes keep their own model. */
      preferences?: Pick<PreferenceRouter, 'choose'>;
      /** A model's price (input + output, $ per million tokens): the learned router picks the cheapest good enough. */
      costPerMTok?: (model: string) => number | undefined;
    },
  ) {
    this.documents = deps.documents;
    this.classifier = new IntentClassifier(deps.embedder);
    this.embedsInProcess = !deps.embedder.id.startsWith('openai:');
  }

  async route(input: RouteInput, signal?: AbortSignal): Promise<RouteOutput> {
    const started = performance.now();
    const { version, document } = await this.documents.current(input.tenantId);
    const elapsed = () => Math.round(performance.now() - started);
    if (input.named !== undefined) {
      const intent = document.intents.find((i) => i.name === input.named);
      if (!intent) throw new UnknownRouteError(input.named, document);
      return { decided: true, decision: await this.learn(input, decide(version, { kind: 'intent', intent, stage: 'rules' }, document, 'named')), usage: NO_USAGE, latencyMs: elapsed() };
    }

    let usage = NO_USAGE;
    const gateway = this.deps.gateway;
    const canAskModel = input.masked && document.classifier.model !== undefined && gateway !== undefined;
    const ctx: CallContext = { tenantId: input.tenantId, taskId: input.taskId, step: 'route' };
    const classified = await this.classifier.classify(document, { tenantId: input.tenantId, version }, input.text, {
      embed: input.masked || this.embedsInProcess,
      askModel: canAskModel
        ? async (prompt) => {
            const r = await gateway!.chat({ messages: [{ role: 'user', content: prompt }], model: document.classifier.model, responseFormat: 'json', maxTokens: 60, temperature: 0, signal }, ctx);
            usage = r.usage;
            return r.content;
          }
        : undefined,
    });
    if (classified.kind === 'deferred') return { decided: false, latencyMs: elapsed() };
    // Undecided, and the model stage must wait for the masked text.
    if (classified.kind === 'none' && !input.masked && document.classifier.model !== undefined && gateway) return { decided: false, latencyMs: elapsed() };
    const decision = decide(version, classified, document);
    // A learned choice embeds the query (in-process or not): only once it is masked.
    if (decision.target.kind === 'model' && decision.target.learned && !input.masked && !this.embedsInProcess) return { decided: false, latencyMs: elapsed() };
    return { decided: true, decision: await this.learn(input, decision), usage, latencyMs: elapsed() };
  }

  /**
   * A model route with `learned`: the preference router picks the cheapest candidate whose chance
   * against the strongest clears the threshold. In shadow mode the choice is recorded only.
   */
  private async learn(input: RouteInput, decision: RouteDecision): Promise<RouteDecision> {
    const target = decision.target;
    if (target.kind !== 'model' || !target.learned || !this.deps.preferences) return decision;
    const { candidates, threshold, shadow } = target.learned;
    const choice = await this.deps.preferences.choose(input.tenantId, {
      query: input.text,
      candidates: candidates.map((model) => ({ model, costPerMTok: this.deps.costPerMTok?.(model) ?? 0 })),
      threshold,
      shadow,
    });
    const learned = { model: choice.chosen, shadow, winProbability: choice.winProbability };
    return { ...decision, model: shadow ? target.model : choice.chosen, learned };
  }
}

function decide(version: number, c: Classification, doc: RoutingDocument, stage?: 'named'): RouteDecision {
  const nearest = c.nearest;
  switch (c.kind) {
    case 'intent':
      return { version, intent: c.intent.name, stage: stage ?? c.stage, target: c.intent.route, model: modelOf(c.intent.route), similarity: c.similarity, nearest };
    case 'ambiguous':
      return { version, intent: null, stage: c.stage, target: { kind: 'clarify', question: clarifyingQuestion(c.between[0], c.between[1]) }, nearest };
    case 'none':
      return { version, intent: null, stage: 'fallback', target: doc.fallback, model: modelOf(doc.fallback), nearest };
  }
}

const modelOf = (t: RouteTarget): string | undefined => ('model' in t ? t.model : undefined);

/** The caller named a route the tenant's document does not have (the proxy answers 400). */
export class UnknownRouteError extends Error {
  constructor(
    readonly route: string,
    doc: RoutingDocument,
  ) {
    super(`unknown route "${route}"${doc.intents.length ? ` (routes: ${doc.intents.map((i) => i.name).join(', ')})` : ' (the tenant has no routing document)'}`);
  }
}

/** A registry's prices as the learned router reads them. */
export const costFromRegistry =
  (lookup: (model: string) => { inputPricePerMTok: number; outputPricePerMTok: number } | undefined) =>
  (model: string): number | undefined => {
    const spec = lookup(model);
    return spec ? spec.inputPricePerMTok + spec.outputPricePerMTok : undefined;
  };
