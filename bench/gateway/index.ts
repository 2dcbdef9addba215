// (j) Model gateway and router: one benchmark of several parts, each its own module returning its
// subsection ({ markdown, data }), run in the order of PARTS and reported under one title, with one
// JSON object keyed by part. `npm run bench -- gateway` runs every part; GATEWAY_BENCH_PARTS=a,c
// (letters or names, comma-separated) runs only those — the report then holds just them.
import { loadavg } from 'node:os';
import type { Bench } from '../lib/bench.js';
import { fmt } from '../lib/stats.js';
import type { GatewayPart } from './common.js';

interface Part {
  letter: string;
  name: string;
  load: () => Promise<GatewayPart>;
}

const PARTS: Part[] = [
  { letter: 'a', name: 'overhead', load: async () => (await import('./overhead.js')).measureOverhead },
  { letter: 'b', name: 'proxy-vs-portkey', load: async () => (await import('./proxy-vs-portkey.js')).compareProxies },
  { letter: 'c', name: 'budget-race', load: async () => (await import('./budget-race.js')).raceBudget },
  { letter: 'd', name: 'router-accuracy', load: async () => (await import('./router-accuracy.js')).routerAccuracy },
  { letter: 'e', name: 'preference-router', load: async () => (await import('./preference-router.js')).preferenceRouter },
];

function wantedParts(): Part[] {
  const asked = process.env.GATEWAY_BENCH_PARTS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!asked?.length) return PARTS;
  const unknown = asked.filter((a) => !PARTS.some((p) => p.letter === a || p.name === a));
  if (unknown.length) throw new Error(`GATEWAY_BENCH_PARTS: unknown part ${unknown.join(', ')} (known: ${PARTS.map((p) => `${p.letter}=${p.name}`).join(', ')})`);
  return PARTS.filter((p) => asked.includes(p.letter) || asked.includes(p.name));
}

export const run: Bench = async (ctx) => {
  const sections: string[] = [];
  const data: Record<string, unknown> = {};
  for (const part of wantedParts()) {
    ctx.log(`gateway: part (${part.letter}) ${part.name}`);
    // Other work on the machine moves these numbers; the load around each part says how much there was.
    const before = loadavg()[0]!;
    const result = await (await part.load())(ctx);
    const after = loadavg()[0]!;
    sections.push(`${result.markdown.trim()}\n\n_Load average (1 min) before / after this part: ${fmt(before, 2)} / ${fmt(after, 2)}._`);
    data[part.name] = { ...(result.data as object), loadAverage: { before, after } };
  }
  return { title: '(j) Model gateway and router', markdown: sections.join('\n\n'), data };
};
