// Plain-text helpers that product code and the offline model both use: the content words of a
// text (the schema catalog ranks tables by them, the local answerer sentences), the named
// things in it, Markdown tables as sentences, a passage as one text, and the reply when the
// documents hold no answer.
// No model here: everything is rules over the text.
import type { Passage } from './retrieval/types.js';

/** The answer when the documents hold none: said without a model call when nothing was retrieved. */
export const NOT_FOUND_ANSWER = "I couldn't find an answer to that in the available documents.";

const STOPWORDS = new Set(
  ('a an and are as at be been but by can could did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our please should so than that the their them then there these they this those to ' +
    'us was we were what when where which who whom why will with would you your about after before any can\'t ' +
    'tell know want need get much many long does do done should could').split(' '),
);

function stem(word: string): string {
  return word.length > 4 ? word.replace(/(ies|ing|ed|es|s|ly)$/, '') : word;
}

/** The words of a text that carry meaning, lowercased and crudely stemmed ("orders" → "order"). */
export function contentTerms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}-]*/gu) ?? []).filter((w) => !STOPWORDS.has(w)).map(stem);
}

/** Named things in a sentence: runs of capitalised words, or product-like codes such as "LX-200". */
export function entities(text: string): string[] {
  // Codes first: "LX-200" must not stop at "LX-".
  const found = text.match(/\b(?:[A-Z0-9]+-\d+[A-Z]*|[A-Z][\p{L}'-]*)(?:\s+(?:[A-Z0-9]+-\d+[A-Z]*|[A-Z][\p{L}'-]*|\d+[A-Z]?\b))*/gu) ?? [];
  const sentenceStart = /^(What|When|Where|Who|Why|How|Which|Is|Are|Can|Could|Does|Did|Do|Should|Will|Would|Tell|Please|And|The|A|An|I)$/;
  return found
    .map((e) => e.split(/\s+/).filter((w, i) => !(i === 0 && sentenceStart.test(w))).join(' '))
    .filter((e) => e.length > 1);
}

const cells = (row: string) =>
  row
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((cell) => cell.trim());

/**
 * Markdown tables become one self-describing line per row ("Item: Printer; Refund: full;
 * Restocking fee: 15%"), so a quoted row carries its column names and a header row is never
 * mistaken for an answer.
 */
export function flattenTables(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i]!;
    if (/^\s*\|/.test(header) && /^\s*\|[\s|:-]+\|?\s*$/.test(lines[i + 1] ?? '')) {
      const names = cells(header);
      i += 2;
      for (; i < lines.length && /^\s*\|/.test(lines[i]!); i++) {
        out.push(
          cells(lines[i]!)
            .map((value, c) => (value && value !== '✓' ? (names[c] ? `${names[c]}: ${value}` : value) : ''))
            .filter(Boolean)
            .join('; ') + '.',
        );
      }
      i -= 1;
    } else {
      out.push(header);
    }
  }
  return out.join('\n');
}

/** A passage as one text, the way the guards read it: title, heading, body. */
export function passageText(p: Pick<Passage, 'title' | 'heading' | 'text'>): string {
  return [p.title, p.heading, p.text].filter(Boolean).join('\n');
}
