// A model route with `learned`: the router asks the preference router with the route's
// candidates and their registry prices, and uses its choice — or, in shadow mode, records it
// and keeps the route's own model.
import { describe, expect, it } from 'vitest';
import { routingDocumentSchema, type RoutingDocuments } from '../../activities/router/document.js';
import type { PreferenceRouter } from '../../activities/router/preferences.js';
import { costFromRegistry, Router } from '../../activities/router/router.js';
import { TEST_EMBEDDER } from '../support/harness-config.js';

const prices: Record<string, { inputPricePerMTok: number; outputPricePerMTok: number }> = { small: { inputPricePerMTok: 0.1, outputPricePerMTok: 0.4 }, large: { inputPricePerMTok: 2, outputPricePerMTok: 8 } };

function routerWith(shadow: boolean) {
  const document = routingDocumentSchema.parse({
    intents: [{ name: 'faq', keywords: ['refund'], route: { kind: 'model', model: 'large', learned: { candidates: ['small', 'large'], threshold: 0.45, shadow } } }],
  });
  const asked: unknown[] = [];
  const preferences: Pick<PreferenceRouter, 'choose'> = {
    async choose(_tenant, input) {
      asked.push(input);
      return { model: shadow ? 'large' : 'small', chosen: 'small', strongest: 'large', cluster: 0, winProbability: { small: 0.47, large: 0.5 }, fitVersion: 1, shadow };
    },
  };
  const documents = { current: async () => ({ version: 3, document }) } as unknown as RoutingDocuments;
  const router = new Router({ documents, embedder: TEST_EMBEDDER, preferences, costPerMTok: costFromRegistry((m) => prices[m]) });
  return { router, asked };
}

describe('learned routes', () => {
  it('route to the learned choice, with the candidates priced from the registry', async () => {
    const { router, asked } = routerWith(false);
    const out = await router.route({ tenantId: 't', text: 'Can I get a refund?', masked: true });
    expect(out.decided && out.decision).toMatchObject({ intent: 'faq', model: 'small', learned: { model: 'small', shadow: false } });
    expect(asked[0]).toMatchObject({ query: 'Can I get a refund?', threshold: 0.45, candidates: [{ model: 'small', costPerMTok: 0.5 }, { model: 'large', costPerMTok: 10 }] });
  });

  it("in shadow mode record the choice and keep the route's own model", async () => {
    const { router } = routerWith(true);
    const out = await router.route({ tenantId: 't', text: 'Can I get a refund?', masked: true });
    expect(out.decided && out.decision).toMatchObject({ model: 'large', learned: { model: 'small', shadow: true, winProbability: { small: 0.47 } } });
  });
});
