// toxicity: insults, hostility and profanity in an answer. A lexicon scores every answer (and
// every streamed sentence); an optional scorer model, asked through the gateway, gets the
// answers the lexicon passes. The lexicon compiles once at module load.
import { RegExpMatcher, englishDataset, englishRecommendedTransformers } from 'obscenity';
import { z } from 'zod';
import { modelName } from '../policy-fields.js';
import { compilePhrases, normalizeForMatching } from '../scope.js';
import { timed } from '../timing.js';
import { outputCheck } from './types.js';

const toxicityPolicy = z.object({ threshold: z.number().min(0).max(1).default(0.5), scorerModel: modelName.optional() }).prefault({});
type ToxicitySettings = z.output<typeof toxicityPolicy>;

export interface ToxicityResult {
  toxic: boolean;
  /** 0..1: each profanity adds 0.5, each hostile phrase 0.6, capped at 1. */
  score: number;
  /** The terms found, as listed (profanity by its base word). */
  terms: string[];
}

/** obscenity's English profanity set with its leetspeak/confusable transformers, built once. */
const PROFANITY = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });

/**
 * Hostility without profanity. Threats are phrased against a person ("hurt you", "kill you"), so
 * support vocabulary — "this kills the process", "the printer is dead", "execute the job" — stays out.
 */
const HOSTILE_PHRASES: Array<[string, RegExp]> = [
  ['you idiot', /\byou (?:absolute |complete |stupid |total )?(?:idiot|moron|imbecile|fool|clown|loser)s?\b/],
  ['insult', /\b(?:you(?:'re| are)|ur|u r) (?:an? )?(?:absolute |complete |total |so )?(?:idiot|moron|stupid|dumb|useless|pathetic|worthless|incompetent|imbecile|clown|joke|loser)\b/],
  ['shut up', /\bshut (?:up|your mouth)\b/],
  ['stupid customer', /\b(?:stupid|dumb|idiot|annoying|pathetic|ignorant) (?:customers?|users?|people|question)\b/],
  ['threat', /\bi(?:'ll| will| am going to|'m going to| gonna) (?:hurt|kill|find|destroy|beat|punch|hunt) you\b|\bi know where you live\b|\b(?:hope|wish) you die\b/],
  ['go to hell', /\bgo to hell\b|\bscrew you\b|\bget lost\b|\bnobody cares\b/],
  ['dismissive', /\b(?:figure it out yourself|not my problem|deal with it yourself|learn to read)\b/],
];

export function scoreToxicity(text: string, extraTerms: string[] = []): ToxicityResult {
  const terms: string[] = [];
  let score = 0;
  for (const match of PROFANITY.getAllMatches(text, true)) {
    const word = englishDataset.getPayloadWithPhraseMetadata(match).phraseMetadata?.originalWord ?? text.slice(match.startIndex, match.endIndex + 1);
    terms.push(word);
    score += 0.5;
  }
  const normalized = normalizeForMatching(text);
  for (const [name, pattern] of HOSTILE_PHRASES) {
    if (pattern.test(normalized)) {
      terms.push(name);
      score += 0.6;
    }
  }
  if (extraTerms.length > 0) {
    const found = compilePhrases(extraTerms).match(normalized);
    if (found !== undefined) {
      terms.push(found);
      score += 0.5;
    }
  }
  score = Math.min(1, score);
  return { toxic: score >= 0.5, score, terms: [...new Set(terms)] };
}

/**
 * The lexicon's rule, for an answer and each streamed sentence alike: at or over the tenant's
 * threshold, or toxic by the lexicon's own measure — a tenant's higher threshold relaxes the
 * scorer model, not the lexicon. (The stream once tested the threshold alone, so a sentence
 * scoring 0.6 under a threshold of 0.8 was streamed, and then the answer failed.)
 */
const lexiconFails = (result: ToxicityResult, settings: ToxicitySettings) => result.score >= settings.threshold || result.toxic;

export const toxicity = outputCheck({
  name: 'toxicity',
  policy: toxicityPolicy,
  checkAnswer: async ({ answer, shown }, settings, { classifiers }) => {
    const [lexicon, ms] = timed(() => scoreToxicity(answer));
    let toxic = lexiconFails(lexicon, settings);
    const detail: Record<string, unknown> = { score: lexicon.score, terms: lexicon.terms.length };
    if (!toxic && settings.scorerModel && answer) {
      const verdict = await classifiers.ask('toxicity', settings.scorerModel, shown);
      if (verdict instanceof Error) detail.scorerError = verdict.message;
      else {
        detail.scorer = { model: verdict.model, score: verdict.score };
        toxic = verdict.score >= settings.threshold;
      }
    }
    const row = { check: 'toxicity', verdict: toxic ? ('fail' as const) : ('pass' as const), latencyMs: ms, detail };
    return toxic ? { rows: [row], failed: true, feedback: 'Your previous answer was not courteous. Answer politely and professionally.' } : { rows: [row], failed: false };
  },
  // The scorer model is not asked per sentence (a model call each); the lexicon is.
  sentenceCheck: (settings) => (sentence) => lexiconFails(scoreToxicity(sentence), settings),
});
