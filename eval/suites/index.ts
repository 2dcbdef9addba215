// The evaluation suites, in the order `npm run eval` runs them. A suite is one module exporting a
// `Suite` (eval/suite.ts): its labeled set, its metrics and their kinds; adding one is that module
// and one line here. Its metrics' tolerances come from their kinds (eval/tolerances.ts).
import type { Suite } from '../suite.js';
import { answers } from './answers.js';
import { cache } from './cache.js';
import { feedback } from './feedback.js';
import { guardrails } from './guardrails.js';
import { retrieval } from './retrieval.js';
import { retrievalBm25 } from './retrieval-bm25.js';
import { routing } from './routing.js';

export const SUITES: readonly Suite[] = [guardrails, routing, cache, answers, retrievalBm25, retrieval, feedback];
