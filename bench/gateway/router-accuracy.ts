// (d) Router accuracy on a labeled intent set (bench/gateway/intents.ts): the demo tenant's
// routing document, and a test split of labeled queries the document was never tuned on. The
// classifier (activities/router/classify.ts: typo-tolerant keyword rules, then each intent's
// similarity as a blend of its examples' centroid and its nearest example) runs with the real
// local MiniLM embedder, beside three baselines measured in the same run on the same queries:
// rules only, centroids only, and nearest example (k = 1 over every example). The model stage is not measured: it needs a model, and this runs
// offline.
import path from 'node:path';
import { IntentClassifier, type Classification, type Nearest } from '../../activities/router/classify.js';
import { routingDocumentSchema, type RoutingDocument } from '../../activities/router/document.js';
import { l2normalize } from '../../activities/retrieval/embeddings.js';
import type { Embedder } from '../../activities/retrieval/embedder.js';
import { loadLocalEmbedder } from '../../activities/retrieval/local-embedder.js';
import type { Config } from '../../infra/config.js';
import { fmt, percentile, table } from '../lib/stats.js';
import { DEV, INKWELL_ROUTING, TEST, type LabeledQuery } from './intents.js';

const TARGET = 0.9;

type Stage = 'rules' | 'centroid' | 'model' | 'example' | 'none';
type Outcome = ({ kind: 'intent'; intent: string; stage: Stage } | { kind: 'ambiguous'; between: [string, string]; stage: Stage } | { kind: 'none'; stage: 'none' }) & { nearest?: Nearest[] };

interface Config_ {
  name: string;
  what: string;
  classify(text: string): Promise<Outcome>;
}

interface QueryResult {
  q: string;
  expect: string;
  got: string;
  stage: Stage;
  correct: boolean;
  /** The pair a `clarify` query was torn between, and the pair the classifier asked about. */
  wanted?: [string, string];
  between?: [string, string];
  /** The two nearest intents and their similarities, where an embedding stage ran. */
  nearest?: Nearest[];
  ms: number;
}

interface Scores {
  n: number;
  accuracy: number;
  unambiguous: { n: number; accuracy: number };
  clarify: { n: number; recall: number; pairRight: number; askedOf: number; precision: number; wronglyAsked: number };
  fallback: { n: number; recall: number };
  stages: Record<string, number>;
  latencyMs: { p50: number; p99: number };
}

export const asOutcome = (c: Classification | { kind: 'deferred' }): Outcome => {
  const nearest = c.kind === 'deferred' ? undefined : c.nearest;
  if (c.kind === 'intent') return { kind: 'intent', intent: c.intent.name, stage: c.stage, nearest };
  if (c.kind === 'ambiguous') return { kind: 'ambiguous', between: [c.between[0].name, c.between[1].name], stage: c.stage, nearest };
  return { kind: 'none', stage: 'none', nearest };
};

export const label = (o: Outcome) => (o.kind === 'intent' ? o.intent : o.kind === 'ambiguous' ? 'clarify' : 'fallback');

export async function routerAccuracy(ctx: { log(m: string): void }): Promise<{ markdown: string; data: unknown }> {
  const embedder = await loadLocalEmbedder({ provider: 'local', modelDir: path.resolve('.tools', 'models') } as Config['embedding'], ctx.log);
  try {
    return await measure(embedder, ctx);
  } finally {
    await embedder.close?.();
  }
}

async function measure(embedder: Embedder, ctx: { log(m: string): void }) {
  const doc = routingDocumentSchema.parse(INKWELL_ROUTING);
  const keywordsAlways: RoutingDocument = { ...doc, classifier: { ...doc.classifier, keywordOverrideMargin: 2 } };
  const noKeywords: RoutingDocument = { ...doc, intents: doc.intents.map((i) => ({ ...i, keywords: [] })), classifier: { ...doc.classifier, exampleWeight: 0 } };
  const classifier = new IntentClassifier(embedder);
  const key = { tenantId: 'inkwell', version: 1 };
  const bareKey = { tenantId: 'inkwell-no-keywords', version: 1 };
  const examples = await exampleIndex(doc, embedder);

  const configs: Config_[] = [
    {
      name: 'classifier',
      what: `typo-tolerant rules, then the nearest intent by centroid and nearest example blended (exampleWeight ${doc.classifier.exampleWeight}; classify.ts as shipped)`,
      classify: async (t) => asOutcome(await classifier.classify(doc, key, t, { embed: true })),
    },
    {
      name: 'keywords always decide',
      what: 'the classifier with keywordOverrideMargin 2: a lone keyword decides even when the examples clearly disagree',
      classify: async (t) => asOutcome(await classifier.classify(keywordsAlways, { tenantId: 'inkwell-keywords-always', version: 1 }, t, { embed: true })),
    },
    {
      name: 'rules only',
      what: 'the keyword stage alone (no embedder)',
      classify: async (t) => asOutcome(await classifier.classify(doc, key, t, { embed: false })),
    },
    {
      name: 'centroid only',
      what: 'the nearest centroid alone (keywords removed, exampleWeight 0)',
      classify: async (t) => asOutcome(await classifier.classify(noKeywords, bareKey, t, { embed: true })),
    },
    {
      name: 'nearest example',
      what: 'k = 1 over every example, same thresholds (no rules)',
      classify: (t) => examples.classify(t),
    },
  ];

  // Warm: the centroids, the example vectors and the model's first inferences are not measured.
  for (const cfg of configs) for (const { q } of DEV.slice(0, 5)) await cfg.classify(q);

  const runs: Record<string, { test: QueryResult[]; dev: QueryResult[] }> = {};
  for (const cfg of configs) {
    runs[cfg.name] = { test: await runSet(cfg, TEST), dev: await runSet(cfg, DEV) };
    ctx.log(`router accuracy: ${cfg.name} ${fmt(score(runs[cfg.name]!.test).accuracy, 3)} on test`);
  }
  const scores = Object.fromEntries(configs.map((c) => [c.name, { test: score(runs[c.name]!.test), dev: score(runs[c.name]!.dev) }]));
  const full = scores.classifier!.test;
  const errors = runs.classifier!.test.filter((r) => !r.correct);

  const data = {
    target: TARGET,
    document: { intents: doc.intents.length, examples: doc.intents.reduce((n, i) => n + i.examples.length, 0), keywords: doc.intents.reduce((n, i) => n + i.keywords.length, 0), classifier: doc.classifier },
    sets: { test: describeSet(TEST), dev: describeSet(DEV) },
    embedder: embedder.id,
    configs: configs.map((c) => ({ name: c.name, what: c.what, ...scores[c.name] })),
    perIntent: perIntent(runs.classifier!.test),
    confusion: confusion(errors),
    // Per query: the classifier's whole outcome, and what each baseline answered.
    test: perQuery('test'),
    dev: perQuery('dev'),
  };
  return { markdown: report(configs, scores, runs, doc, embedder.id), data };

  function perQuery(split: 'test' | 'dev') {
    return runs.classifier![split].map((r, i) => ({ ...r, baselines: Object.fromEntries(configs.slice(1).map((c) => [c.name, runs[c.name]![split][i]!.got])) }));
  }

  function report(cs: Config_[], sc: typeof scores, rs: typeof runs, d: RoutingDocument, embedderId: string): string {
    const names = cs.map((c) => c.name);
    const row = (what: string, f: (s: Scores) => string) => [what, ...names.map((n) => f(sc[n]!.test))];
    const pct = (x: number) => fmt(x * 100, 1) + ' %';
    const ratio = (n: string) => fmt(full.accuracy / sc[n]!.test.accuracy, 2);
    const met = full.accuracy >= TARGET;
    const set = describeSet(TEST);
    const lines = [
      `Gatehouse's intent classifier on the demo tenant's routing document (${d.intents.length} intents, ${data.document.examples} examples, ${data.document.keywords} keywords; minSimilarity ${d.classifier.minSimilarity}, ambiguityMargin ${d.classifier.ambiguityMargin}, exampleWeight ${d.classifier.exampleWeight}) with the real local embedder (${embedderId}). ` +
        `Test set: ${set.n} labeled queries (${set.intent} with an intent, ${set.clarify} genuinely ambiguous → should be asked to clarify, ${set.fallback} that no intent claims → fallback), written separately from the document's examples; ` +
        `the document was tuned only on the ${DEV.length}-query dev split (bench/gateway/intents.ts), never on the test split. The model stage is not measured (no model offline).`,
      '',
      table(['test split', ...names], [
        row('**accuracy**', (s) => `**${pct(s.accuracy)}**`),
        row('accuracy, unambiguous queries', (s) => `${pct(s.unambiguous.accuracy)} (${s.unambiguous.n})`),
        row('clarify recall (ambiguous asked)', (s) => `${pct(s.clarify.recall)} (${Math.round(s.clarify.recall * s.clarify.n)}/${s.clarify.n})`),
        row('… asked between the labeled pair', (s) => `${s.clarify.pairRight}/${s.clarify.n}`),
        row('clarify precision', (s) => (s.clarify.askedOf ? `${pct(s.clarify.precision)} (${s.clarify.askedOf} asked)` : 'n/a (none asked)')),
        row('unambiguous wrongly asked to clarify', (s) => String(s.clarify.wronglyAsked)),
        row('fallback recall', (s) => `${pct(s.fallback.recall)} (${s.fallback.n})`),
        row('decided by rules / centroid / example / none', (s) => `${s.stages.rules ?? 0} / ${s.stages.centroid ?? 0} / ${s.stages.example ?? 0} / ${s.stages.none ?? 0}`),
        row('latency p50 / p99 (warm)', (s) => `${fmt(s.latencyMs.p50)} / ${fmt(s.latencyMs.p99)} ms`),
        ['accuracy ratio, classifier ÷ this', ...names.map(ratio)],
        ['dev split accuracy (tuned on)', ...names.map((n) => pct(sc[n]!.dev.accuracy))],
      ]),
      '',
      ...cs.map((c) => `- **${c.name}**: ${c.what}.`),
      '',
      `**Verdict: ${met ? 'target met' : 'target missed'}** — ${pct(full.accuracy)} against ≥ ${pct(TARGET)}${met ? '' : `, short by ${fmt((TARGET - full.accuracy) * 100, 1)} points (${Math.ceil(TARGET * full.n - full.accuracy * full.n)} more of ${full.n} queries right would meet it)`}. ` +
        `Clarify recall ${pct(full.clarify.recall)}; ${full.clarify.wronglyAsked} unambiguous ${full.clarify.wronglyAsked === 1 ? 'query was' : 'queries were'} asked to clarify.`,
      '',
      '### Where the errors are (classifier, test split)',
      '',
      table(['kind of error', 'queries'], errorKinds(rs.classifier!.test).map(([k, n]) => [k, n])),
      '',
      why(rs.classifier!.test),
      '',
      `Before any tuning the document (same intents and examples, minus the dev-driven changes listed in bench/gateway/intents.ts) scored ${BEFORE_TUNING.test} on this test split and ${BEFORE_TUNING.dev} on dev, with the classifier before the keyword override; the classifier before the nearest-example blend and typo-tolerant keywords scored ${BEFORE_BLEND.test} on test and ${BEFORE_BLEND.dev} on dev.`,
      '',
      '### Per intent (classifier, test split)',
      '',
      table(['label', 'queries', 'right', 'accuracy', 'wrong answers'], perIntent(rs.classifier!.test).map((p) => [p.label, p.n, p.right, pct(p.right / p.n), p.wrong.join(', ') || '—'])),
      '',
      '### Errors (classifier, test split), by expected → got',
      '',
      table(['expected → got', 'count', 'queries (stage)'], confusion(rs.classifier!.test.filter((r) => !r.correct)).map((e) => [`${e.expect} → ${e.got}`, e.count, e.queries.map((q) => `"${q.q}" (${q.stage})`).join('; ')])),
      '',
    ];
    return lines.join('\n');
  }
}

/**
 * The first run, before the document was tuned on the dev split (minSimilarity 0.45, no shared
 * keywords for cancel / offline / ink, four fewer examples) and before keywordOverrideMargin
 * existed: measured once by this benchmark, before the tuned document (the first one committed).
 */
/** The last run of the pure nearest-centroid classifier (exact keywords, minSimilarity 0.35), measured by this benchmark. */
const BEFORE_BLEND = { test: '79.0 % (clarify recall 8/26)', dev: '100 % on the 50-query dev split then in use (85.4 % on the 89-query split that replaced it)' };

const BEFORE_TUNING = { test: '68.8 % (clarify recall 2/26, 50 queries undecided)', dev: '86.0 %' };

/** Why the target is missed, from the errors, and how far a model stage could go. */
function why(rs: QueryResult[]): string {
  const wrong = rs.filter((r) => !r.correct);
  const clarifyMissed = wrong.filter((r) => r.expect === 'clarify' && r.got !== 'fallback').length;
  // The model stage is asked only when rules and centroid leave a query undecided.
  const reachable = wrong.filter((r) => r.got === 'fallback').length;
  const right = rs.length - wrong.length;
  return (
    `Why: of ${wrong.length} errors, ${clarifyMissed} are ambiguous queries the classifier answered with one intent — mostly one-word queries ("order", "account", "charge") whose embedding sits confidently near one intent's examples: a nearest-example classifier sees no second sense unless the document lists the word as a keyword of both intents. ` +
    `${wrong.filter((r) => r.expect !== 'clarify' && r.got === 'fallback').length} have an intent but were not near enough to any intent's examples (short or colloquial queries, words no example is near), and ${wrong.filter((r) => r.expect !== 'clarify' && r.got !== 'fallback').length} went to another intent or to a question. ` +
    `A model stage (the document's classifier model; not runnable offline) is asked only for the ${reachable} queries left undecided: even answering every one of them right would give ${fmt((100 * (right + reachable)) / rs.length, 1)} %, so on its own it would not reach the target. It would need to be asked also on low-margin centroid decisions and one-word queries, where most of the missed ambiguity is.`
  );
}

function errorKinds(rs: QueryResult[]): Array<[string, number]> {
  const wrong = rs.filter((r) => !r.correct);
  const kinds: Array<[string, (r: QueryResult) => boolean]> = [
    ['ambiguous, but one intent was chosen (by rules)', (r) => r.expect === 'clarify' && r.got !== 'fallback' && r.stage === 'rules'],
    ['ambiguous, but one intent was chosen (by centroid)', (r) => r.expect === 'clarify' && r.got !== 'fallback' && r.stage !== 'rules'],
    ['ambiguous, but no intent was near enough (fallback)', (r) => r.expect === 'clarify' && r.got === 'fallback'],
    ['has an intent, none near enough (fallback)', (r) => r.expect !== 'clarify' && r.got === 'fallback'],
    ['has an intent, asked to clarify', (r) => r.expect !== 'clarify' && r.got === 'clarify'],
    ['has an intent, another chosen by a keyword', (r) => r.expect !== 'clarify' && r.got !== 'clarify' && r.got !== 'fallback' && r.stage === 'rules'],
    ['has an intent, another chosen by the centroid', (r) => r.expect !== 'clarify' && r.got !== 'clarify' && r.got !== 'fallback' && r.stage !== 'rules'],
  ];
  return kinds.map(([k, f]) => [k, wrong.filter(f).length]);
}

async function runSet(cfg: Config_, set: LabeledQuery[]): Promise<QueryResult[]> {
  const out: QueryResult[] = [];
  for (const item of set) {
    const t0 = performance.now();
    const o = await cfg.classify(item.q);
    const ms = performance.now() - t0;
    const got = label(o);
    out.push({ q: item.q, expect: item.expect, got, stage: o.stage, correct: got === item.expect, ...(o.kind === 'ambiguous' ? { between: o.between } : {}), ...(item.between ? { wanted: item.between } : {}), ...(o.nearest ? { nearest: o.nearest } : {}), ms: Math.round(ms * 100) / 100 });
  }
  return out;
}

function score(rs: QueryResult[]): Scores {
  const clar = rs.filter((r) => r.expect === 'clarify');
  const unamb = rs.filter((r) => r.expect !== 'clarify');
  const asked = rs.filter((r) => r.got === 'clarify');
  const fb = rs.filter((r) => r.expect === 'fallback');
  const stages: Record<string, number> = {};
  for (const r of rs) stages[r.stage] = (stages[r.stage] ?? 0) + 1;
  const samePair = (a?: [string, string], b?: [string, string]) => !!a && !!b && new Set([...a, ...b]).size === 2;
  const ms = rs.map((r) => r.ms);
  return {
    n: rs.length,
    accuracy: rs.filter((r) => r.correct).length / rs.length,
    unambiguous: { n: unamb.length, accuracy: unamb.filter((r) => r.correct).length / unamb.length },
    clarify: {
      n: clar.length,
      recall: clar.length ? clar.filter((r) => r.correct).length / clar.length : NaN,
      pairRight: clar.filter((r) => r.correct && samePair(r.between, r.wanted)).length,
      askedOf: asked.length,
      precision: asked.length ? asked.filter((r) => r.expect === 'clarify').length / asked.length : NaN,
      wronglyAsked: asked.filter((r) => r.expect !== 'clarify').length,
    },
    fallback: { n: fb.length, recall: fb.length ? fb.filter((r) => r.correct).length / fb.length : NaN },
    stages,
    latencyMs: { p50: percentile(ms, 50), p99: percentile(ms, 99) },
  };
}

function describeSet(set: LabeledQuery[]) {
  return { n: set.length, intent: set.filter((q) => q.expect !== 'clarify' && q.expect !== 'fallback').length, clarify: set.filter((q) => q.expect === 'clarify').length, fallback: set.filter((q) => q.expect === 'fallback').length };
}

function perIntent(rs: QueryResult[]) {
  const labels = [...new Set(rs.map((r) => r.expect))];
  return labels.map((l) => {
    const mine = rs.filter((r) => r.expect === l);
    const wrong = new Map<string, number>();
    for (const r of mine) if (!r.correct) wrong.set(r.got, (wrong.get(r.got) ?? 0) + 1);
    return { label: l, n: mine.length, right: mine.filter((r) => r.correct).length, wrong: [...wrong].map(([g, n]) => `${g} ×${n}`) };
  });
}

function confusion(errors: QueryResult[]) {
  const groups = new Map<string, QueryResult[]>();
  for (const e of errors) groups.set(`${e.expect}\u0000${e.got}`, [...(groups.get(`${e.expect}\u0000${e.got}`) ?? []), e]);
  return [...groups.values()]
    .map((g) => ({ expect: g[0]!.expect, got: g[0]!.got, count: g.length, queries: g.map((r) => ({ q: r.q, stage: r.stage, ...(r.between ? { between: r.between } : {}) })) }))
    .sort((a, b) => b.count - a.count || a.expect.localeCompare(b.expect));
}

/** The nearest-example baseline: each intent scored by its single most similar example. */
async function exampleIndex(doc: RoutingDocument, embedder: Embedder) {
  const owners = doc.intents.flatMap((i) => i.examples.map(() => i.name));
  const vectors = (await embedder.embed(doc.intents.flatMap((i) => i.examples), 'query')).map(l2normalize);
  const { minSimilarity, ambiguityMargin } = doc.classifier;
  return {
    async classify(text: string): Promise<Outcome> {
      const [raw] = await embedder.embed([text], 'query');
      const q = l2normalize(raw!);
      const best = new Map<string, number>();
      vectors.forEach((v, i) => {
        let s = 0;
        for (let d = 0; d < v.length; d++) s += v[d]! * q[d]!;
        if (s > (best.get(owners[i]!) ?? -Infinity)) best.set(owners[i]!, s);
      });
      const ranked = [...best].sort((a, b) => b[1] - a[1]);
      const [first, second] = ranked;
      const nearest = ranked.slice(0, 2).map(([intent, s]) => ({ intent, similarity: Math.round(s * 1000) / 1000 }));
      if (!first || first[1] < minSimilarity) return { kind: 'none', stage: 'none', nearest };
      if (second && first[1] - second[1] < ambiguityMargin) return { kind: 'ambiguous', between: [first[0], second[0]], stage: 'example', nearest };
      return { kind: 'intent', intent: first[0], stage: 'example', nearest };
    },
  };
}
