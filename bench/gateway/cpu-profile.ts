// A V8 CPU profile as CPU time per request, by who spent it: each sample goes to the innermost
// frame on its stack that belongs to a known component (so a socket write made by pg counts as
// pg's), and samples under module loading are left out.
import type { Profiler } from 'node:inspector';

const COMPONENTS: Array<[string, RegExp]> = [
  ['Postgres client (pg)', /node_modules\/(pg|pg-pool|pg-protocol)\//],
  ['`openai` client', /node_modules\/openai\//],
  ['fetch (undici)', /node:internal\/deps\/undici/],
  ['zod (request and response schemas)', /node_modules\/(zod|fastify-type-provider-zod)\//],
  ['Fastify', /node_modules\/(fastify|find-my-way|avvio|fast-json-stringify|@fastify\/[^/]+|light-my-request)\//],
  ['Hono (Portkey)', /node_modules\/(hono|@hono\/[^/]+)\//],
  ['Portkey gateway code', /@portkey-ai\/gateway\/build\//],
  ['token counting (gpt-tokenizer)', /node_modules\/gpt-tokenizer\//],
  ['Gatehouse gateway (activities/gateway)', /\/activities\/gateway\//],
  ['Gatehouse API (api/)', /\/api\//],
  ['pino (logging)', /node_modules\/pino/],
  ['PGlite (WASM)', /node_modules\/@electric-sql\/|wasm:\/\//],
  ['node:http', /node:_http_|node:internal\/http/],
];
const LOADING = /modules\/esm\/loader|modules\/cjs\/loader|esm\/module_job|esm\/translators/;

export function cpuByComponent(profile: Profiler.Profile, requests: number): Array<{ component: string; usPerRequest: number }> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<string, number>();
  const deltas = profile.timeDeltas ?? [];
  (profile.samples ?? []).forEach((leaf, i) => {
    const us = deltas[i] ?? 0;
    const stack: Profiler.ProfileNode[] = [];
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) stack.push(byId.get(id)!);
    const top = stack[0]!.callFrame.functionName;
    if (top === '(idle)' || top === '(program)' || stack.some((n) => LOADING.test(n.callFrame.url))) return;
    let component = top === '(garbage collector)' ? 'garbage collector' : undefined;
    for (const n of stack) {
      if (component) break;
      component = COMPONENTS.find(([, re]) => re.test(n.callFrame.url))?.[0];
    }
    component ??= 'node core and the rest';
    totals.set(component, (totals.get(component) ?? 0) + us);
  });
  return [...totals].map(([component, us]) => ({ component, usPerRequest: us / Math.max(1, requests) })).sort((a, b) => b.usPerRequest - a.usPerRequest);
}
