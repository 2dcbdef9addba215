// Counting tokens of text we did not write. A document or a question may contain a model's
// special tokens (`<|endoftext|>`, `<|im_start|>`): they are counted as ordinary text, never
// rejected — gpt-tokenizer's default throws on them, which failed ingestion and model calls.
import { countTokens as count, decode, encode as encodeText } from 'gpt-tokenizer';

const AS_TEXT = { disallowedSpecial: new Set<string>() };

export function countTokens(text: string): number {
  return count(text, AS_TEXT);
}

export function encode(text: string): number[] {
  return encodeText(text, AS_TEXT);
}

export { decode };
