// The intent classifier with the real local embedder (all-MiniLM-L6-v2): each stage decides
// the cases it should — keywords, the nearest centroid of the examples (including when it
// outvotes a keyword that only names a thing), a scripted model — and a bare keyword two
// intents share is a question back, not a guess.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clarifyingQuestion, IntentClassifier, type Classification } from '../../activities/router/classify.js';
import { routingDocumentSchema, type RoutingDocument } from '../../activities/router/document.js';
import type { Embedder } from '../../activities/retrieval/embedder.js';
import { loadLocalEmbedder } from '../../activities/retrieval/local-embedder.js';
import { loadConfig } from '../../infra/config.js';

const FREEZE_OR_WEATHER = 'Do you want to freeze your account, or are you talking about the weather?';

const doc: RoutingDocument = routingDocumentSchema.parse({
  intents: [
    {
      name: 'freeze_account',
      clarifyAs: 'do you want to freeze your account',
      keywords: ['freeze', 'freezing', 'lock my account'],
      examples: ['freeze my account', 'please lock my account, my card was stolen', 'I cannot sign in to my account', 'put a hold on my account'],
      route: { kind: 'agent', tools: ['update_record'] },
    },
    {
      name: 'weather',
      clarifyAs: 'are you talking about the weather',
      keywords: ['freezing', 'weather', 'snow'],
      examples: ["it's freezing outside", 'will it snow tomorrow', 'is it going to rain today', 'how hot is it outside'],
      route: { kind: 'stock', answer: "I can't tell you about the weather, sorry." },
    },
    {
      name: 'orders',
      keywords: ['my order', 'tracking number'],
      examples: ['where is my order', 'has my package shipped yet', 'when will my printer be delivered', 'I ordered ink last week and it has not come'],
      route: { kind: 'agent', tools: ['query_sql'] },
    },
    {
      name: 'supplies',
      keywords: ['toner', 'ink cartridge'],
      examples: ['which ink does the Jet 5 take', 'how much is a replacement toner', 'how many pages does a cartridge print', 'do you sell high capacity cartridges'],
      route: { kind: 'retrieval', collection: 'default' },
    },
    {
      name: 'troubleshooting',
      keywords: ['paper jam'],
      examples: ['paper keeps getting stuck in the printer', 'my prints have dark lines down the page', 'pages come out blank', 'the printer shows an error code'],
      route: { kind: 'retrieval', collection: 'default' },
    },
  ],
  classifier: { minSimilarity: 0.35 },
});

describe('intent classifier with the local embedder', () => {
  let embedder: Embedder;
  let classifier: IntentClassifier;
  let version = 0;
  beforeAll(async () => {
    embedder = await loadLocalEmbedder(loadConfig({}).embedding);
    classifier = new IntentClassifier(embedder);
  }, 600_000);
  afterAll(() => embedder?.close?.());

  const classify = (text: string, d: RoutingDocument = doc, opts: Parameters<IntentClassifier['classify']>[3] = { embed: true }) =>
    classifier.classify(d, { tenantId: 't', version: d === doc ? 0 : ++version }, text, opts);
  const decided = (c: Classification | { kind: 'deferred' }) =>
    c.kind === 'intent' ? [c.intent.name, c.stage] : c.kind === 'ambiguous' ? ['ambiguous', c.stage, c.between.map((i) => i.name)] : [c.kind];

  it('decides by keyword when one intent has it', async () => {
    expect(decided(await classify('What will the weather be like?'))).toEqual(['weather', 'rules']);
    expect(decided(await classify('Where is my order?'))).toEqual(['orders', 'rules']);
    // Rules need no embedding: they decide before the text may leave the process.
    expect(decided(await classify('paper jam again', doc, { embed: false }))).toEqual(['troubleshooting', 'rules']);
  });

  it('asks which is meant when a bare keyword belongs to two intents: "Freezing"', async () => {
    const c = await classify('Freezing');
    expect(decided(c)).toEqual(['ambiguous', 'rules', ['freeze_account', 'weather']]);
    if (c.kind !== 'ambiguous') throw new Error('not ambiguous');
    expect(clarifyingQuestion(c.between[0], c.between[1])).toBe(FREEZE_OR_WEATHER);
  });

  it('forgives a one-letter typo in a longer keyword, not in a short word or a first letter', async () => {
    expect(decided(await classify('weathr forecast please', doc, { embed: false }))).toEqual(['weather', 'rules']);
    // A misspelt shared keyword alone is still a question back.
    expect(decided(await classify('Frezing'))).toEqual(['ambiguous', 'rules', ['freeze_account', 'weather']]);
    expect(await classify('a breeze today', doc, { embed: false })).toEqual({ kind: 'deferred' });
  });

  it('leaves a shared keyword with more words around it to the examples', async () => {
    expect(decided(await classify("It's freezing cold outside this morning"))).toEqual(['weather', 'centroid']);
    expect(decided(await classify('Can you please freeze my account'))).toEqual(['freeze_account', 'rules']);
  });

  it('finds the intent by its examples when no keyword is said, and says how near', async () => {
    const parcel = await classify('my parcel still has not arrived');
    expect(decided(parcel)).toEqual(['orders', 'centroid']);
    expect(parcel.kind === 'intent' && parcel.similarity).toBeGreaterThan(0.35);
    expect(decided(await classify('the printouts have streaks and smudges'))).toEqual(['troubleshooting', 'centroid']);
    // Without the embedder the classifier cannot decide: the router routes again with the masked text.
    expect(decided(await classify('my parcel still has not arrived', doc, { embed: false }))).toEqual(['deferred']);
  });

  it('lets the examples outvote a keyword that only names a thing the sentence is not about', async () => {
    expect(decided(await classify('my toner order has not arrived'))).toEqual(['orders', 'centroid']);
    // With the override turned off the keyword decides, as it does when the text is just the keyword.
    const keywordsAlways = { ...doc, classifier: { ...doc.classifier, keywordOverrideMargin: 2 } };
    expect(decided(await classify('my toner order has not arrived', keywordsAlways))).toEqual(['supplies', 'rules']);
    expect(decided(await classify('toner'))).toEqual(['supplies', 'rules']);
  });

  it('goes to no intent when nothing is near, and asks the model stage only then', async () => {
    expect(decided(await classify('What is the capital of Australia?'))).toEqual(['none']);
    const prompts: string[] = [];
    const withModel = { ...doc, classifier: { ...doc.classifier, model: 'small' } };
    const askModel = async (prompt: string) => (prompts.push(prompt), '{"intent": "supplies"}');
    expect(decided(await classify('What is the capital of Australia?', withModel, { embed: true, askModel }))).toEqual(['supplies', 'model']);
    expect(prompts[0]).toContain('Request: What is the capital of Australia?');
    expect(decided(await classify('Where is my order?', withModel, { embed: true, askModel }))).toEqual(['orders', 'rules']);
    expect(prompts).toHaveLength(1);
  });
});
