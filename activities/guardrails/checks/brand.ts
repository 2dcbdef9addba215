// brand: mentions of competitors and risky terms ("guarantee") in an answer, case-insensitive
// and as whole words. The tenant's action decides: block (a failure), review (a failure that
// goes to a reviewer whatever the ladder says) or pass (flagged only). The tenant's own brand
// terms are reported, never failed. Each distinct term list compiles once (cached).
import { z } from 'zod';
import { termList } from '../policy-fields.js';
import { timed } from '../timing.js';
import { outputCheck } from './types.js';

const brandPolicy = z
  .object({
    brand: termList.default([]),
    competitors: termList.default([]),
    risky: termList.default([]),
    /** A mention of a competitor or risky term: block (a failure), review (handoff), or pass. */
    action: z.enum(['block', 'review', 'pass']).default('review'),
  })
  .prefault({});
type BrandSettings = z.output<typeof brandPolicy>;

export type TermKind = 'brand' | 'competitor' | 'risky';

export interface TermMention {
  term: string;
  kind: TermKind;
  start: number;
  end: number;
}

const TERM_CACHE = new Map<string, RegExp>();
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function termPattern(terms: Array<{ term: string; kind: TermKind }>): RegExp {
  const key = terms.map((t) => `${t.kind}:${t.term}`).join('\u0000');
  let pattern = TERM_CACHE.get(key);
  if (!pattern) {
    // Longest first so "Inkwell Pro" wins over "Inkwell"; spaces match any whitespace or hyphen.
    const alternatives = terms
      .map((t, i) => ({ i, source: escapeRegExp(t.term.trim()).replace(/\s+/g, '[\\s-]+') }))
      .filter((t) => t.source.length > 0)
      .sort((a, b) => b.source.length - a.source.length)
      .map((t) => `(?<t${t.i}>${t.source})`);
    pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|') || '(?!)'})(?![\\p{L}\\p{N}])`, 'giu');
    if (TERM_CACHE.size >= 256) TERM_CACHE.delete(TERM_CACHE.keys().next().value!);
    TERM_CACHE.set(key, pattern);
  }
  return pattern;
}

/** Every mention of a brand, competitor or risky term (case-insensitive, whole words), in text order. */
export function checkBrandTerms(text: string, lists: { brand: string[]; competitors: string[]; risky?: string[] }): TermMention[] {
  const terms = [
    ...lists.brand.map((term) => ({ term, kind: 'brand' as const })),
    ...lists.competitors.map((term) => ({ term, kind: 'competitor' as const })),
    ...(lists.risky ?? []).map((term) => ({ term, kind: 'risky' as const })),
  ];
  if (terms.length === 0) return [];
  const pattern = termPattern(terms);
  const mentions: TermMention[] = [];
  for (const m of text.matchAll(pattern)) {
    const name = Object.keys(m.groups ?? {}).find((g) => m.groups![g] !== undefined);
    const listed = name ? terms[Number(name.slice(1))] : undefined;
    if (listed) mentions.push({ term: listed.term, kind: listed.kind, start: m.index, end: m.index + m[0].length });
  }
  return mentions;
}

/** Competitor and risky mentions: what the tenant may not want said. */
const riskyIn = (mentions: TermMention[]) => mentions.filter((t) => t.kind !== 'brand');
/** The one rule the answer and each streamed sentence are held to. */
const fails = (risky: TermMention[], settings: BrandSettings) => risky.length > 0 && settings.action !== 'pass';

export const brand = outputCheck({
  name: 'brand',
  policy: brandPolicy,
  checkAnswer: ({ answer }, settings) => {
    const [mentions, ms] = timed(() => checkBrandTerms(answer, settings));
    const risky = riskyIn(mentions);
    const failed = fails(risky, settings);
    const detail = mentions.length ? { terms: mentions.map((t) => ({ term: t.term, kind: t.kind })), action: settings.action } : undefined;
    const row = { check: 'brand', verdict: failed ? ('fail' as const) : risky.length ? ('flag' as const) : ('pass' as const), latencyMs: ms, detail };
    if (!failed) return { rows: [row], failed };
    return { rows: [row], failed, forceHandoff: settings.action === 'review', feedback: `Do not mention ${[...new Set(risky.map((t) => t.term))].join(', ')}.` };
  },
  sentenceCheck: (settings) => (settings.action === 'pass' ? undefined : (sentence) => fails(riskyIn(checkBrandTerms(sentence, settings)), settings)),
  probeMatchers: (settings, text) => void checkBrandTerms(text, settings),
});
