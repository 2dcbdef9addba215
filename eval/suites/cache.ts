// Semantic-cache false hits on the labeled query pairs (bench/cache/pairs.ts, test split) at the
// configured threshold (GATEHOUSE_CACHE_SEMANTIC_THRESHOLD's default): a pair hits when its two
// questions' MiniLM similarity reaches the threshold and the false-hit guard finds no difference
// (compareQueries), as the cache decides and as bench (k)'s threshold curve scores it. A near
// miss that hits is a wrong answer served; a paraphrase that hits is a model call saved.
import { compareQueries } from '../../activities/cache/false-hit-guard.js';
import { loadConfig } from '../../infra/config.js';
import { cosine } from '../../bench/cache/common.js';
import { QUERY_PAIRS, type QueryPair } from '../../bench/cache/pairs.js';
import { metric, type Suite } from '../suite.js';

const NAME = 'cache';
const TEST_PAIRS = QUERY_PAIRS.filter((p) => p.split === 'test');

export const cache: Suite = {
  name: NAME,
  title: `semantic cache on the pairs.ts test split (${TEST_PAIRS.length} pairs) at the configured threshold`,
  ci: true,
  async run(ctx) {
    const threshold = loadConfig({ GATEHOUSE_CACHE: 'semantic' }).cache!.semanticThreshold;
    const embedder = await ctx.embedder();
    const vectors = new Map<string, Float32Array>();
    // One question at a time, as a lookup embeds it (a batch pads, which moves the last bits).
    const vectorOf = async (q: string) => vectors.get(q) ?? vectors.set(q, (await embedder.embed([q], 'query'))[0]!).get(q)!;
    const scored: Array<QueryPair & { similarity: number; hit: boolean }> = [];
    for (const p of TEST_PAIRS) {
      const similarity = cosine(await vectorOf(p.a), await vectorOf(p.b));
      scored.push({ ...p, similarity, hit: similarity >= threshold && compareQueries(p.a, p.b).same });
    }
    const rate = (label: string) => {
      const xs = scored.filter((p) => p.label === label);
      return xs.filter((p) => p.hit).length / xs.length;
    };
    return {
      metrics: [metric(NAME, 'false_hit_rate', rate('near_miss'), 'lower', 'embedding'), metric(NAME, 'paraphrase_hit_rate', rate('paraphrase'), 'higher', 'embedding')],
      details: { threshold, falseHits: scored.filter((p) => p.label === 'near_miss' && p.hit).map(({ a, b, differs, similarity }) => ({ a, b, differs, similarity })) },
    };
  },
};
