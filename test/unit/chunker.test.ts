import { countTokens } from '../../activities/tokens.js';
import { describe, expect, it } from 'vitest';
import { chunkDocument, embeddingText, splitSections, splitSentences } from '../../activities/retrieval/chunker.js';

const words = (text: string) => text.toLowerCase().match(/[a-z0-9]+/g) ?? [];

function paragraph(topic: string, sentences: number): string {
  return Array.from({ length: sentences }, (_, i) => `The ${topic} note number ${i + 1} explains one more detail about ${topic}.`).join(' ');
}

describe('splitSentences', () => {
  it('splits on terminal punctuation but not on abbreviations, decimals or list numbers', () => {
    expect(splitSentences('Use e.g. the tray. Dr. Smith agreed! Version 3.5 ships. Done?')).toEqual([
      'Use e.g. the tray.',
      'Dr. Smith agreed!',
      'Version 3.5 ships.',
      'Done?',
    ]);
    expect(splitSentences('1. Open the door.\n2. Pull the sheet.')).toEqual(['1. Open the door.', '2. Pull the sheet.']);
  });

  it('loses no characters', () => {
    const text = 'A.B. tests, e.g. this one... Really?! Yes (mostly). "Quoted." End';
    expect(splitSentences(text).join(' ').replace(/\s+/g, '')).toBe(text.replace(/\s+/g, ''));
  });
});

describe('splitSections', () => {
  it('follows Markdown headings into a heading path and ignores # inside code fences', () => {
    const doc = ['# Guide', 'Intro text.', '## Setup', 'Plug it in.', '```', '# not a heading', '```', '### Wi-Fi', 'Join the network.'].join('\n');
    const sections = splitSections(doc, 'Guide');
    expect(sections.map((s) => s.headings.join(' › '))).toEqual(['Guide', 'Guide › Setup', 'Guide › Setup › Wi-Fi']);
    expect(sections[1]!.blocks.join('\n')).toContain('# not a heading');
  });

  it('keeps plain text as one section of paragraphs under its title', () => {
    const sections = splitSections('First paragraph.\n\nSecond paragraph.', 'Memo');
    expect(sections).toEqual([{ headings: ['Memo'], blocks: ['First paragraph.', 'Second paragraph.'] }]);
  });
});

describe('chunkDocument', () => {
  const opts = { maxTokens: 80, overlapTokens: 20 };

  it('never exceeds the token budget and never straddles a heading', () => {
    const doc = `# Alpha\n\n${paragraph('alpha', 12)}\n\n## Beta\n\n${paragraph('beta', 9)}\n\n${paragraph('gamma', 3)}`;
    const chunks = chunkDocument({ title: 'Alpha', text: doc }, opts);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.tokenCount).toBeLessThanOrEqual(opts.maxTokens);
      expect(c.tokenCount).toBe(countTokens(embeddingText(c)));
      if (c.heading.endsWith('Beta')) expect(c.text).not.toMatch(/alpha/);
      else expect(c.text).not.toMatch(/beta|gamma/);
    }
    expect(chunks.map((c) => c.ordinal)).toEqual(chunks.map((_, i) => i));
  });

  it("treats a model's special tokens in a document as ordinary text", () => {
    const chunks = chunkDocument({ text: `# Notes\n\nPasted from a chat log: <|im_start|>system <|endoftext|> and more.` }, opts);
    expect(chunks.map((c) => c.text).join(' ')).toContain('<|im_start|>system <|endoftext|>');
    expect(chunks[0]!.tokenCount).toBeGreaterThan(5);
  });

  it('keeps every word of the document', () => {
    const doc = `# T\n\n${paragraph('one', 10)}\n\n${paragraph('two', 2)}\n\n- item a\n- item b`;
    const chunks = chunkDocument({ text: doc }, opts);
    const seen = new Set(chunks.flatMap((c) => words(`${c.heading} ${c.text}`)));
    for (const w of words(doc)) expect(seen.has(w)).toBe(true);
  });

  it('packs whole paragraphs and overlaps consecutive chunks by trailing sentences', () => {
    const doc = paragraph('overlap', 14);
    const chunks = chunkDocument({ text: doc }, opts);
    expect(chunks.length).toBeGreaterThan(1);
    for (let i = 1; i < chunks.length; i++) {
      const prevLast = splitSentences(chunks[i - 1]!.text).at(-1)!;
      expect(chunks[i]!.text.startsWith(prevLast)).toBe(true);
      expect(countTokens(prevLast)).toBeLessThanOrEqual(opts.overlapTokens);
    }
  });

  it('packs short paragraphs together instead of one chunk each', () => {
    const doc = ['Alpha one.', 'Beta two.', 'Gamma three.'].join('\n\n');
    const chunks = chunkDocument({ text: doc }, opts);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text).toBe('Alpha one.\n\nBeta two.\n\nGamma three.');
  });

  it('splits a long table between rows and repeats its header', () => {
    const rows = Array.from({ length: 30 }, (_, i) => `| E-${100 + i} | Location ${i} | Cause number ${i} |`);
    const doc = ['| Code | Location | Cause |', '|---|---|---|', ...rows].join('\n');
    const chunks = chunkDocument({ text: doc }, opts);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(c.text.startsWith('| Code | Location | Cause |\n|---|---|---|')).toBe(true);
    const allRows = chunks.flatMap((c) => c.text.split('\n').slice(2));
    expect(allRows).toEqual(rows);
  });

  it('cuts a single over-long sentence at token boundaries as a last resort', () => {
    const sentence = `${Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ')}.`;
    const chunks = chunkDocument({ text: sentence }, { maxTokens: 50, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(c.tokenCount).toBeLessThanOrEqual(50);
    expect(words(chunks.map((c) => c.text).join(' '))).toEqual(words(sentence));
  });

  it('rejects an overlap as large as the chunk', () => {
    expect(() => chunkDocument({ text: 'x' }, { maxTokens: 10, overlapTokens: 10 })).toThrow(/overlap/);
  });
});
