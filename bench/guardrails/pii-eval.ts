// PII detection quality and latency on a labeled set: per-class precision and recall of
// detectPii, plus p50/p99 latency per text. `npx tsx bench/guardrails/pii-eval.ts` runs it on
// our generated set (seed 1, 200 per class); flags:
//   --seed N --per-class N   another generated set
//   --public PATH            presidio-evaluator's synth_dataset_v2.json instead (see pii-public.ts)
//   --examples N             print up to N misses and false alarms per class
//   --compromise             also score compromise's nlp().people() on PERSON, as a baseline
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { detectPii } from '../../activities/guardrails/pii.js';
import { PII_CLASSES, type PiiClass } from '../../activities/guardrails/types.js';
import { fmt, percentile, table } from '../lib/stats.js';
import { generatePiiDataset, type GoldSpan, type LabeledText } from './pii-dataset.js';

export interface ClassScore {
  tp: number;
  fp: number;
  fn: number;
  /** True positives whose offsets equal the gold span's exactly. */
  exact: number;
  precision: number;
  recall: number;
}

export interface PiiEvaluation {
  perClass: Record<PiiClass, ClassScore>;
  /** Micro-averaged over all classes scored. */
  overall: ClassScore;
  latencyMs: { p50: number; p99: number; mean: number; meanChars: number };
  misses: Array<{ type: PiiClass; text: string; value: string }>;
  falseAlarms: Array<{ type: PiiClass; text: string; value: string; detector: string }>;
}

type Predict = (text: string) => Array<{ type: PiiClass; start: number; end: number; detector?: string }>;

/**
 * A prediction is a true positive when its class matches a gold span's and it covers at least
 * half of that gold span (overlap ≥ 50 % of the gold's length): detectors that trim a trailing
 * "Apt 4" or include an honorific still count, a phone number found as two halves only once.
 * Each gold span and each prediction is matched at most once. Exact matches are counted too.
 */
export function evaluatePii(
  dataset: readonly LabeledText[],
  opts: { predict?: Predict; classes?: readonly PiiClass[] } = {},
): PiiEvaluation {
  const predict: Predict = opts.predict ?? ((text) => detectPii(text));
  const classes = opts.classes ?? PII_CLASSES;
  const counts = Object.fromEntries(classes.map((c) => [c, { tp: 0, fp: 0, fn: 0, exact: 0 }])) as Record<PiiClass, Omit<ClassScore, 'precision' | 'recall'>>;
  const misses: PiiEvaluation['misses'] = [];
  const falseAlarms: PiiEvaluation['falseAlarms'] = [];
  const timings: number[] = [];

  for (const { text, spans: gold } of dataset) {
    const t0 = performance.now();
    const predicted = predict(text).filter((p) => classes.includes(p.type));
    timings.push(performance.now() - t0);
    const used = new Set<number>();
    for (const g of gold.filter((s) => classes.includes(s.type))) {
      const hit = predicted.findIndex((p, i) => !used.has(i) && p.type === g.type && overlap(p, g) >= 0.5 * (g.end - g.start));
      if (hit >= 0) {
        used.add(hit);
        counts[g.type].tp++;
        if (predicted[hit]!.start === g.start && predicted[hit]!.end === g.end) counts[g.type].exact++;
      } else {
        counts[g.type].fn++;
        misses.push({ type: g.type, text, value: text.slice(g.start, g.end) });
      }
    }
    predicted.forEach((p, i) => {
      if (used.has(i)) return;
      counts[p.type].fp++;
      falseAlarms.push({ type: p.type, text, value: text.slice(p.start, p.end), detector: p.detector ?? '' });
    });
  }

  const score = (c: Omit<ClassScore, 'precision' | 'recall'>): ClassScore => ({
    ...c,
    precision: c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : NaN,
    recall: c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : NaN,
  });
  const total = { tp: 0, fp: 0, fn: 0, exact: 0 };
  for (const c of Object.values(counts)) for (const k of ['tp', 'fp', 'fn', 'exact'] as const) total[k] += c[k];
  return {
    perClass: Object.fromEntries(classes.map((c) => [c, score(counts[c])])) as Record<PiiClass, ClassScore>,
    overall: score(total),
    latencyMs: {
      p50: percentile(timings, 50),
      p99: percentile(timings, 99),
      mean: timings.reduce((a, b) => a + b, 0) / Math.max(1, timings.length),
      meanChars: dataset.reduce((n, d) => n + d.text.length, 0) / Math.max(1, dataset.length),
    },
    misses,
    falseAlarms,
  };
}

function overlap(a: { start: number; end: number }, b: GoldSpan): number {
  return Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));
}

/** Texts of about `chars` characters, made by joining consecutive dataset texts. */
export function latencyTexts(dataset: readonly LabeledText[], chars = 500): string[] {
  const out: string[] = [];
  let current = '';
  for (const { text } of dataset) {
    current = current ? `${current} ${text}` : text;
    if (current.length >= chars) {
      out.push(current.slice(0, chars));
      current = '';
    }
  }
  return out;
}

/**
 * Latency of detectPii over `texts` after a full warm-up pass: the raw p50/p99 over every call,
 * and the p99 of each text's median over the rounds, which discounts GC pauses and other
 * processes on a shared machine (the raw p99 includes them).
 */
export function timeDetect(texts: readonly string[], rounds = 5): { p50: number; p99: number; p99OfMedians: number } {
  for (const t of texts) detectPii(t);
  const perText: number[][] = texts.map(() => []);
  for (let r = 0; r < rounds; r++) {
    texts.forEach((t, i) => {
      const t0 = performance.now();
      detectPii(t);
      perText[i]!.push(performance.now() - t0);
    });
  }
  const all = perText.flat();
  return { p50: percentile(all, 50), p99: percentile(all, 99), p99OfMedians: percentile(perText.map((xs) => percentile(xs, 50)), 99) };
}

export function formatEvaluation(result: PiiEvaluation): string {
  const rows = Object.entries(result.perClass).map(([c, s]) => [c, s.tp + s.fn, s.tp, s.fp, s.fn, s.exact, fmt(s.precision), fmt(s.recall)]);
  const o = result.overall;
  rows.push(['(all)', o.tp + o.fn, o.tp, o.fp, o.fn, o.exact, fmt(o.precision), fmt(o.recall)]);
  return table(['class', 'gold', 'tp', 'fp', 'fn', 'exact', 'precision', 'recall'], rows);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      'per-class': { type: 'string', default: '200' },
      public: { type: 'string' },
      examples: { type: 'string', default: '0' },
      compromise: { type: 'boolean', default: false },
    },
  });
  let dataset: LabeledText[];
  let classes: readonly PiiClass[] = PII_CLASSES;
  if (values.public) {
    const { loadPresidioSynthDataset } = await import('./pii-public.js');
    const loaded = loadPresidioSynthDataset(values.public);
    dataset = loaded.texts;
    classes = loaded.scoredClasses;
    console.log(`presidio-evaluator synth_dataset_v2: ${dataset.length} texts, scoring ${classes.join(', ')}`);
  } else {
    dataset = generatePiiDataset(Number(values.seed), Number(values['per-class']));
    console.log(`generated set: seed ${values.seed}, ${values['per-class']} per class, ${dataset.length} texts`);
  }
  detectPii(dataset[0]?.text ?? ''); // load lazily-initialised metadata outside the timings
  const result = evaluatePii(dataset, { classes });
  console.log(`\nspan match: same class, overlap ≥ 50 % of the gold span; 'exact' = identical offsets\n`);
  console.log(formatEvaluation(result));
  const longTexts = latencyTexts(dataset);
  const long = timeDetect(longTexts);
  console.log(
    `\nlatency per dataset text, first pass (mean ${fmt(result.latencyMs.meanChars, 0)} chars): p50 ${fmt(result.latencyMs.p50, 3)} ms, p99 ${fmt(result.latencyMs.p99, 3)} ms` +
      `\nlatency per 500-char text (${longTexts.length} texts × 5): p50 ${fmt(long.p50, 3)} ms, p99 ${fmt(long.p99, 3)} ms, p99 of per-text medians ${fmt(long.p99OfMedians, 3)} ms`,
  );

  const examples = Number(values.examples);
  if (examples > 0) {
    for (const c of classes) {
      const m = result.misses.filter((x) => x.type === c).slice(0, examples);
      const f = result.falseAlarms.filter((x) => x.type === c).slice(0, examples);
      if (m.length + f.length === 0) continue;
      console.log(`\n## ${c}`);
      for (const x of m) console.log(`  miss  ${JSON.stringify(x.value)}  in  ${JSON.stringify(x.text)}`);
      for (const x of f) console.log(`  false ${JSON.stringify(x.value)} (${x.detector})  in  ${JSON.stringify(x.text)}`);
    }
  }

  if (values.compromise) {
    const nlp = (await import('compromise')).default;
    const people: Predict = (text) =>
      nlp(text)
        .people()
        .json({ offset: true })
        .map((p: { offset: { start: number; length: number } }) => ({ type: 'PERSON' as const, start: p.offset.start, end: p.offset.start + p.offset.length }));
    const baseline = evaluatePii(dataset, { predict: people, classes: ['PERSON'] });
    console.log(`\ncompromise nlp().people() baseline on PERSON:\n\n${formatEvaluation(baseline)}\nlatency p50 ${fmt(baseline.latencyMs.p50, 3)} ms, p99 ${fmt(baseline.latencyMs.p99, 3)} ms`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
