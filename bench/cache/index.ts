// (k) The caches: one benchmark of three parts, each its own module returning its subsection
// ({ markdown, data }), run in the order of PARTS and reported under one title, with one JSON
// object keyed by part. `npm run bench -- cache` runs every part; CACHE_BENCH_PARTS=a,b (letters
// or names, comma-separated) runs only those — the report then holds just them.
import { loadavg } from 'node:os';
import type { Bench } from '../lib/bench.js';
import { fmt } from '../lib/stats.js';
import type { CachePart } from './common.js';

interface Part {
  letter: string;
  name: string;
  load: () => Promise<CachePart>;
}

const PARTS: Part[] = [
  { letter: 'a', name: 'threshold-curve', load: async () => (await import('./threshold-curve.js')).thresholdCurve },
  { letter: 'b', name: 'lookup-latency', load: async () => (await import('./lookup-latency.js')).lookupLatency },
  { letter: 'c', name: 'answer-hit-vs-miss', load: async () => (await import('./answer-hit-vs-miss.js')).answerHitVsMiss },
];

function wantedParts(): Part[] {
  const asked = process.env.CACHE_BENCH_PARTS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!asked?.length) return PARTS;
  const unknown = asked.filter((a) => !PARTS.some((p) => p.letter === a || p.name === a));
  if (unknown.length) throw new Error(`CACHE_BENCH_PARTS: unknown part ${unknown.join(', ')} (known: ${PARTS.map((p) => `${p.letter}=${p.name}`).join(', ')})`);
  return PARTS.filter((p) => asked.includes(p.letter) || asked.includes(p.name));
}

export const run: Bench = async (ctx) => {
  const sections: string[] = [];
  const data: Record<string, unknown> = {};
  for (const part of wantedParts()) {
    ctx.log(`cache: part (${part.letter}) ${part.name}`);
    // Other work on the machine moves these numbers; the load around each part says how much there was.
    const before = loadavg()[0]!;
    const result = await (await part.load())(ctx);
    const after = loadavg()[0]!;
    ctx.log(`cache: part (${part.letter}) done; load average ${fmt(before, 2)} → ${fmt(after, 2)}`);
    sections.push(`${result.markdown.trim()}\n\n_Load average (1 min) before / after this part: ${fmt(before, 2)} / ${fmt(after, 2)}._`);
    data[part.name] = { ...(result.data as object), loadAverage: { before, after } };
  }
  return { title: '(k) Exact and semantic caches', markdown: sections.join('\n\n'), data };
};
