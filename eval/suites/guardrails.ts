// Guardrails on their labeled sets: PII detection (bench/guardrails/pii-dataset.ts, generated with
// seed 1, 200 texts per class plus 200 of benign look-alikes — the true negatives — scored by
// bench (g)'s span matching), and the injection heuristics as a worker runs them on the written
// set's test split (bench/guardrails/injection-dataset.ts: direct and indirect injections, benign
// traffic and benign look-alikes that use attackers' words).
import { PII_CLASSES } from '../../activities/guardrails/types.js';
import { injectionDataset } from '../../bench/guardrails/injection-dataset.js';
import { evaluateInjection } from '../../bench/guardrails/injection-eval.js';
import { generatePiiDataset } from '../../bench/guardrails/pii-dataset.js';
import { evaluatePii } from '../../bench/guardrails/pii-eval.js';
import { metric, type Suite } from '../suite.js';

const NAME = 'guardrails';
const PII_SEED = 1;
const PII_PER_CLASS = 200;

export const guardrails: Suite = {
  name: NAME,
  title: 'PII detection (generated set, seed 1) and injection heuristics (written test split): precision and recall',
  ci: true,
  async run() {
    const piiSet = generatePiiDataset(PII_SEED, PII_PER_CLASS);
    const pii = evaluatePii(piiSet);
    const test = injectionDataset().test;
    const injection = evaluateInjection(test);
    const flagged = (kinds: string[]) => kinds.reduce((n, k) => n + (injection.byKind[k]?.flagged ?? 0), 0);
    const caught = flagged(['direct', 'indirect']);
    const falseAlarms = flagged(['benign', 'benign_lookalike']);
    const injections = test.filter((e) => e.label === 'injection').length;
    return {
      metrics: [
        metric(NAME, 'pii.precision', pii.overall.precision, 'higher', 'exact'),
        metric(NAME, 'pii.recall', pii.overall.recall, 'higher', 'exact'),
        // Per class too: a class that got worse is not hidden by another that got better.
        ...PII_CLASSES.flatMap((c) => [
          metric(NAME, `pii.${c}.precision`, pii.perClass[c].precision, 'higher', 'exact'),
          metric(NAME, `pii.${c}.recall`, pii.perClass[c].recall, 'higher', 'exact'),
        ]),
        metric(NAME, 'injection.precision', caught / (caught + falseAlarms), 'higher', 'exact'),
        metric(NAME, 'injection.recall', caught / injections, 'higher', 'exact'),
      ],
      details: {
        pii: { texts: piiSet.length, overall: pii.overall, misses: pii.misses.slice(0, 50), falseAlarms: pii.falseAlarms.slice(0, 50) },
        injection: { examples: test.length, injections, byKind: injection.byKind, misses: injection.misses, falseAlarms: injection.falseAlarms },
      },
    };
  },
};
