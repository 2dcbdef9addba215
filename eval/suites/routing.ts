// Routing accuracy on the labeled intent set (bench/gateway/intents.ts): the demo tenant's routing
// document and its test split (224 queries, ambiguous and out-of-scope ones included), which the
// document was never tuned on. The classifier as shipped (rules, then centroid and nearest example
// over MiniLM), labelled as bench (j)'s router accuracy labels it: an intent, clarify or fallback.
import { IntentClassifier } from '../../activities/router/classify.js';
import { routingDocumentSchema } from '../../activities/router/document.js';
import { asOutcome, label } from '../../bench/gateway/router-accuracy.js';
import { INKWELL_ROUTING, TEST } from '../../bench/gateway/intents.js';
import { metric, type Suite } from '../suite.js';

const NAME = 'routing';

export const routing: Suite = {
  name: NAME,
  title: `intent router on the intents.ts test split (${TEST.length} queries)`,
  ci: true,
  async run(ctx) {
    const doc = routingDocumentSchema.parse(INKWELL_ROUTING);
    const classifier = new IntentClassifier(await ctx.embedder());
    const results: Array<{ q: string; expect: string; got: string }> = [];
    for (const { q, expect } of TEST) {
      const got = label(asOutcome(await classifier.classify(doc, { tenantId: 'eval', version: 1 }, q, { embed: true })));
      results.push({ q, expect, got });
    }
    const share = (xs: typeof results) => xs.filter((r) => r.got === r.expect).length / xs.length;
    const of = (expect: string) => results.filter((r) => r.expect === expect);
    return {
      metrics: [
        metric(NAME, 'accuracy', share(results), 'higher', 'embedding'),
        metric(NAME, 'clarify_recall', share(of('clarify')), 'higher', 'embedding'),
        metric(NAME, 'fallback_recall', share(of('fallback')), 'higher', 'embedding'),
      ],
      details: { errors: results.filter((r) => r.got !== r.expect) },
    };
  },
};
