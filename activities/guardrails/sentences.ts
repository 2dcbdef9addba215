// Sentence splitting for answers: grounding judges each sentence, and the guarded stream
// releases an answer sentence by sentence. Intl.Segmenter does the splitting; the rules here
// keep citation markers with their sentence and do not break after common abbreviations.

export interface SentenceSpan {
  text: string;
  /** UTF-16 offsets into the original text, end exclusive, whitespace trimmed. */
  start: number;
  end: number;
}

const SENTENCE_SEGMENTER = new Intl.Segmenter('en', { granularity: 'sentence' });
/** Citation markers the answer step writes: [1], [2, 3], [1-3], [1][2]. */
const LEADING_CITATIONS = /^\s*(?:\[\d+(?:\s*[,–-]\s*\d+)*\]\s*)+/;
/** A boundary that fell inside a marker: "works.[" | "1] Then". */
const OPEN_MARKER_AT_END = /\[\d*(?:\s*[,–-]\s*\d*)*$/;
const REST_OF_MARKER = /^\d*(?:\s*[,–-]\s*\d*)*\]\s*(?:\[\d+(?:\s*[,–-]\s*\d+)*\]\s*)*/;
/** Abbreviations after which ICU may break although the sentence goes on. */
const ABBREVIATION_AT_END = /(?:^|[\s(])(?:e\.g|i\.e|etc|vs|approx|incl|no|nos|fig|cf|mr|mrs|ms|dr|st|jr|sr|inc|ltd|co|p|pp)\.\s*$/i;

/**
 * Splits `text` into sentences with Intl.Segmenter, keeping citation markers with the sentence
 * they follow and not breaking after common abbreviations or inside decimals.
 */
export function splitSentences(text: string): SentenceSpan[] {
  const boundaries: number[] = [];
  for (const segment of SENTENCE_SEGMENTER.segment(text)) if (segment.index > 0) boundaries.push(segment.index);
  const cuts: number[] = [0];
  for (let b of boundaries) {
    const before = text.slice(cuts[cuts.length - 1], b);
    const after = text.slice(b);
    if (OPEN_MARKER_AT_END.test(before)) b += REST_OF_MARKER.exec(after)?.[0].length ?? 0;
    else b += LEADING_CITATIONS.exec(after)?.[0].length ?? 0;
    const previousCut = cuts[cuts.length - 1]!;
    if (b <= previousCut || b >= text.length) continue;
    if (ABBREVIATION_AT_END.test(text.slice(previousCut, b))) continue;
    cuts.push(b);
  }
  cuts.push(text.length);
  const spans: SentenceSpan[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    let start = cuts[i]!;
    let end = cuts[i + 1]!;
    while (start < end && /\s/.test(text[start]!)) start++;
    while (end > start && /\s/.test(text[end - 1]!)) end--;
    if (end > start) spans.push({ text: text.slice(start, end), start, end });
  }
  return spans;
}
