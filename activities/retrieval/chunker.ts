// Token-aware chunking that follows the document's own structure: Markdown headings open
// sections (chunks never straddle two), blank lines separate paragraphs (chunks are packed
// from whole paragraphs), and only a paragraph too long for a chunk is cut — at sentence
// boundaries, and at token boundaries only for a single over-long sentence. Consecutive
// chunks of a section share up to `overlapTokens` of trailing sentences.
import { countTokens, decode, encode } from '../tokens.js';

export interface ChunkerOptions {
  maxTokens: number;
  overlapTokens: number;
}

export interface Chunk {
  ordinal: number;
  /** Heading path, e.g. "LX-200 Quick Start › Loading paper"; empty for untitled plain text. */
  heading: string;
  text: string;
  /** Tokens of heading + text, the text the embedder and the prompt see. */
  tokenCount: number;
}

interface Section {
  headings: string[];
  blocks: string[];
}

const HEADING = /^(#{1,6})[ \t]+(.+?)[ \t#]*$/;
const FENCE = /^(```|~~~)/;

/** Split Markdown or plain text into sections of paragraph blocks. */
export function splitSections(text: string, title?: string): Section[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const root = title?.trim() ? [title.trim()] : [];
  const sections: Section[] = [];
  let stack: Array<{ level: number; text: string }> = [];
  let current: Section = { headings: root, blocks: [] };
  let paragraph: string[] = [];
  let inFence = false;

  const flushParagraph = () => {
    const block = paragraph.join('\n').trim();
    if (block) current.blocks.push(block);
    paragraph = [];
  };
  const openSection = (level: number, heading: string) => {
    flushParagraph();
    if (current.blocks.length) sections.push(current);
    stack = [...stack.filter((h) => h.level < level), { level, text: heading }];
    // A document whose first heading repeats its title should not say it twice.
    const path = stack.map((h) => h.text);
    const headings = root.length && path[0]?.toLowerCase() === root[0]!.toLowerCase() ? path : [...root, ...path];
    current = { headings, blocks: [] };
  };

  for (const line of lines) {
    if (FENCE.test(line.trim())) {
      inFence = !inFence;
      paragraph.push(line);
      if (!inFence) flushParagraph();
      continue;
    }
    if (inFence) {
      paragraph.push(line);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      openSection(heading[1]!.length, heading[2]!.trim());
    } else if (line.trim() === '') {
      flushParagraph();
    } else {
      paragraph.push(line);
    }
  }
  flushParagraph();
  if (current.blocks.length) sections.push(current);
  return sections;
}

const ABBREVIATION = /(?:\b[A-Za-z]\.[A-Za-z]\.|\b(?:Mr|Mrs|Ms|Dr|St|vs|etc|No|Fig|approx|e\.g|i\.e)\.|\b[A-Z]\.|^\s*\d+\.)$/;

/**
 * Split prose into sentences without losing a character: boundaries are terminal punctuation
 * followed by whitespace, or line breaks; abbreviations ("e.g.", "Dr.") and list numbers
 * ("3.") are not boundaries.
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  for (const m of text.matchAll(/[.!?]+["')\]]*(?=\s)|\n+/g)) {
    const end = m.index + m[0].length;
    const candidate = text.slice(start, end);
    if (m[0][0] !== '\n' && ABBREVIATION.test(candidate)) continue;
    if (candidate.trim()) sentences.push(candidate.trim());
    start = end;
  }
  const rest = text.slice(start).trim();
  if (rest) sentences.push(rest);
  return sentences;
}

/** Cut text into pieces of at most `max` tokens, at token boundaries (last resort). */
function splitByTokens(text: string, max: number): string[] {
  const tokens = encode(text);
  const pieces: string[] = [];
  for (let i = 0; i < tokens.length; i += max) pieces.push(decode(tokens.slice(i, i + max)).trim());
  return pieces.filter(Boolean);
}

interface Unit {
  text: string;
  tokens: number;
  /** Units cut from one paragraph are joined with a space, whole paragraphs with a blank line. */
  joinWithSpace: boolean;
}

const TABLE_ROW = /^\s*\|/;
const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s+/;

/** Pack lines into groups of at most `budget` tokens, each starting with `prefix` (a table's header). */
function packLines(lines: string[], budget: number, prefix: string[] = []): Unit[] {
  const units: Unit[] = [];
  const prefixTokens = prefix.length ? countTokens(prefix.join('\n')) + 1 : 0;
  let group: string[] = [];
  let tokens = prefixTokens;
  const flush = () => {
    if (group.length) units.push({ text: [...prefix, ...group].join('\n'), tokens, joinWithSpace: false });
    group = [];
    tokens = prefixTokens;
  };
  for (const line of lines) {
    const n = countTokens(line) + 1;
    if (group.length && tokens + n > budget) flush();
    if (prefixTokens + n > budget) {
      // A single line longer than a chunk: cut it like any over-long sentence.
      for (const piece of splitByTokens(line, budget)) units.push({ text: piece, tokens: countTokens(piece), joinWithSpace: false });
      continue;
    }
    group.push(line);
    tokens += n;
  }
  flush();
  return units;
}

function toUnits(block: string, budget: number): Unit[] {
  const tokens = countTokens(block);
  if (tokens <= budget) return [{ text: block, tokens, joinWithSpace: false }];
  const lines = block.split('\n');
  // Tables split between rows, each part under the table's header; lists between items.
  if (lines.length > 2 && lines.every((l) => TABLE_ROW.test(l))) {
    const header = /^\s*\|[\s|:-]+\|?\s*$/.test(lines[1]!) ? lines.slice(0, 2) : [];
    if (countTokens(header.join('\n')) < budget / 2) return packLines(lines.slice(header.length), budget, header);
  }
  if (lines.length > 1 && lines.filter((l) => LIST_ITEM.test(l)).length >= lines.length / 2) {
    return packLines(lines, budget);
  }
  const units: Unit[] = [];
  for (const sentence of splitSentences(block)) {
    const n = countTokens(sentence);
    if (n <= budget) units.push({ text: sentence, tokens: n, joinWithSpace: true });
    else for (const piece of splitByTokens(sentence, budget)) units.push({ text: piece, tokens: countTokens(piece), joinWithSpace: true });
  }
  if (units[0]) units[0].joinWithSpace = false;
  return units;
}

function joinUnits(units: Unit[]): string {
  return units.map((u, i) => (i === 0 ? u.text : (u.joinWithSpace ? ' ' : '\n\n') + u.text)).join('');
}

/** The trailing sentences of a chunk that fit in `overlap` tokens, carried into the next chunk. */
function overlapUnits(units: Unit[], overlap: number): Unit[] {
  if (overlap <= 0 || units.length === 0) return [];
  const tail = units[units.length - 1]!;
  // Table parts already repeat their header; carrying rows over would only duplicate them.
  if (TABLE_ROW.test(tail.text)) return [];
  const sentences = splitSentences(tail.text);
  const carried: Unit[] = [];
  let total = 0;
  for (let i = sentences.length - 1; i >= 0; i--) {
    const n = countTokens(sentences[i]!);
    if (total + n > overlap) break;
    carried.unshift({ text: sentences[i]!, tokens: n, joinWithSpace: true });
    total += n;
  }
  // Never carry the whole chunk: that would make the next chunk a near-duplicate.
  if (carried.length === sentences.length && units.length === 1) return [];
  if (carried[0]) carried[0].joinWithSpace = false;
  return carried;
}

export function chunkDocument(doc: { title?: string; text: string }, opts: ChunkerOptions): Chunk[] {
  if (opts.overlapTokens >= opts.maxTokens) throw new Error('overlapTokens must be smaller than maxTokens');
  const chunks: Chunk[] = [];
  for (const section of splitSections(doc.text, doc.title)) {
    const heading = section.headings.join(' › ');
    const headingTokens = heading ? countTokens(heading) + 2 : 0;
    // The heading travels with every chunk; the text gets what is left, but at least half.
    const budget = Math.max(Math.floor(opts.maxTokens / 2), opts.maxTokens - headingTokens);
    const units = section.blocks.flatMap((b) => toUnits(b, budget));

    let current: Unit[] = [];
    let currentTokens = 0;
    let hasNew = false; // the chunk holds more than carried-over overlap
    const flush = () => {
      if (!hasNew) return;
      const text = joinUnits(current);
      chunks.push({ ordinal: chunks.length, heading, text, tokenCount: countTokens(heading ? `${heading}\n\n${text}` : text) });
      current = overlapUnits(current, Math.min(opts.overlapTokens, budget - 1));
      currentTokens = current.reduce((n, u) => n + u.tokens, 0);
      hasNew = false;
    };
    for (const unit of units) {
      const separator = current.length ? 2 : 0;
      if (current.length && currentTokens + separator + unit.tokens > budget) flush();
      // Overlap plus a big unit may still not fit: drop the overlap rather than exceed the budget.
      if (current.length && currentTokens + unit.tokens + 2 > budget) {
        current = [];
        currentTokens = 0;
      }
      current.push(current.length ? unit : { ...unit, joinWithSpace: false });
      currentTokens += unit.tokens + (current.length > 1 ? 2 : 0);
      hasNew = true;
    }
    flush();
  }
  return chunks;
}

/** The text an embedder sees for a chunk: its heading path gives the passage its context. */
export function embeddingText(chunk: Pick<Chunk, 'heading' | 'text'>): string {
  return chunk.heading ? `${chunk.heading}\n\n${chunk.text}` : chunk.text;
}
