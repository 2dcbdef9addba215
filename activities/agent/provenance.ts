// Where each argument of a proposed write came from: the user's own words, the tenant's own
// data (query_sql rows), untrusted text (a document chunk, a web page, another tool's output,
// something the guard quarantined), or nowhere we can see ("model"). The approval policy reads
// it (an authorising value from untrusted text always waits for a person), and the approver
// sees it per argument, with the excerpt the value was found in.
//
// How a value is matched, and why:
// - Typed values are matched as the type they are, never as substrings. An email matches an
//   address extracted from the text, case-insensitively ("bob@x.com" is not in
//   "evilbob@x.com"). A number matches a whole numeric token, compared as a number ("50" is
//   not in "1500"; "79" is in "$79.00"; "1004" is in "1,004" and "ORD-1004"). An id (a token
//   with a digit) matches a whole token, case-insensitively.
// - Trusted wins: a value found in the user's message (or in a trusted tool's output) is the user's,
//   even when a chunk has it too. A small number like 50 occurs in plenty of documents; it is
//   only untrusted when nothing the user wrote or asked for has it, which is exactly the case
//   a person should look at. Erring that way costs an approval, never a silent write.
// - Only values that say whom or what the action acts on authorise it: emails, numbers, ids.
//   Prose (a subject, a body, a reason) and plain words (a table name, a status) are what the
//   action says; they are attributed for the approver but do not gate: matching common words
//   against documents would ask for approval on nearly everything.
// - A tool's output counts as trusted when its tool declares it (`trustedOutput`: query_sql,
//   the user's own question over the tenant's own tables). web_search, search_documents and
//   any other tool's output are untrusted, and so is quarantined text: the model was not shown
//   it, but a value it holds can still reach a proposal (the model saw it before, a sub-task
//   read it, or it guessed).
import type { ProvenanceItem } from '../tools/types.js';

/** Untrusted text the input or output guard held back (guardrail_quarantine), as evidence. */
export interface QuarantinedItem {
  type: 'quarantined';
  source: 'document' | 'tool';
  ref: string;
  chunkId?: string;
  documentId?: string;
  excerpt: string;
}

/** What attribution searches: the evidence the workflow carries, plus what the guard held back. */
export type EvidenceItem = ProvenanceItem | QuarantinedItem;

export type ValueKind = 'email' | 'number' | 'id' | 'word' | 'text';

type Source =
  | Omit<Extract<ProvenanceItem, { type: 'user_message' }>, 'excerpt'>
  | Omit<Extract<ProvenanceItem, { type: 'document_chunk' }>, 'excerpt'>
  | Omit<Extract<ProvenanceItem, { type: 'tool_output' }>, 'excerpt'>
  | Omit<QuarantinedItem, 'excerpt'>
  | { type: 'model' };

/** One argument's source, as the approver sees it. */
export type ArgumentProvenance = Source & {
  /** The argument's path: "to", "changes.email", "items[0].sku". */
  argument: string;
  kind: ValueKind;
  /** Does this value say whom or what the action acts on (a recipient, an amount, an id)? */
  authorises: boolean;
  /** Found only in untrusted text. */
  untrusted: boolean;
  /** The text around the value where it was found (the value itself for "model"). */
  excerpt: string;
};

const AUTHORISING: ReadonlySet<ValueKind> = new Set(['email', 'number', 'id']);
const EXCERPT_RADIUS = 120;

const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
const WHOLE_EMAIL = /^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$/;
// A numeric token: not glued to a letter, digit, underscore or decimal point before it, nor to
// a letter, digit or underscore after it. Thousands separators are allowed ("1,004").
const NUMBER = /(?<![\p{L}\p{N}_.])\d+(?:,\d{3})*(?:\.\d+)?(?![\p{L}\p{N}_])/gu;
const NUMERIC_STRING = /^\$?\d+(?:,\d{3})*(?:\.\d+)?$/;
const TOKEN_SPLIT = /[\s"'`,;()[\]{}<>|=]+/;
const TOKEN_TRIM = /^[.:!?*]+|[.:!?*]+$/g;

/** Does this tool declare its output trusted (the registry knows: `ToolDefinition.trustedOutput`)? */
export type TrustedTool = (name: string) => boolean;

interface Leaf {
  argument: string;
  kind: ValueKind;
  /** Where the value occurs in a text (its index), or -1. */
  find(text: string): number;
  shown: string;
}

function leafOf(argument: string, value: string | number): Leaf | undefined {
  if (typeof value === 'number' || NUMERIC_STRING.test(value.trim())) {
    const n = typeof value === 'number' ? value : Number(value.trim().replace(/[$,]/g, ''));
    if (!Number.isFinite(n)) return undefined;
    return { argument, kind: 'number', shown: String(value), find: (text) => findFirst(text, NUMBER, (m) => Number(m.replace(/,/g, '')) === Math.abs(n)) };
  }
  const v = value.trim();
  if (!v) return undefined;
  if (WHOLE_EMAIL.test(v)) {
    const lower = v.toLowerCase();
    return { argument, kind: 'email', shown: v, find: (text) => findFirst(text, EMAIL, (m) => m.toLowerCase() === lower) };
  }
  if (!/\s/.test(v)) {
    const lower = v.toLowerCase();
    return { argument, kind: /\d/.test(v) ? 'id' : 'word', shown: v, find: (text) => findToken(text, lower) };
  }
  const phrase = v.replace(/\s+/g, ' ').toLowerCase();
  return { argument, kind: 'text', shown: v, find: (text) => findPhrase(text, phrase) };
}

/** A phrase as whole words ("list" is not in "listing"), whitespace-insensitive; the index is approximate after collapsed runs. */
function findPhrase(text: string, phrase: string): number {
  const haystack = text.replace(/\s+/g, ' ').toLowerCase();
  const wordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_]/u.test(c);
  for (let at = haystack.indexOf(phrase); at >= 0; at = haystack.indexOf(phrase, at + 1)) {
    if (!wordChar(haystack[at - 1]) && !wordChar(haystack[at + phrase.length])) return at;
  }
  return -1;
}

function findFirst(text: string, pattern: RegExp, same: (match: string) => boolean): number {
  for (const m of text.matchAll(pattern)) if (same(m[0])) return m.index;
  return -1;
}

function findToken(text: string, lower: string): number {
  const haystack = text.toLowerCase();
  let from = 0;
  for (const token of haystack.split(TOKEN_SPLIT)) {
    const at = haystack.indexOf(token, from);
    from = at + token.length;
    if (token.replace(TOKEN_TRIM, '') === lower) return at + token.indexOf(lower);
  }
  return -1;
}

function leaves(value: unknown, path: string, out: Leaf[]): Leaf[] {
  if (typeof value === 'string' || typeof value === 'number') {
    const leaf = leafOf(path, value);
    if (leaf) out.push(leaf);
  } else if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  return out;
}

function excerptAround(text: string, at: number, length: number): string {
  const start = Math.max(0, at - EXCERPT_RADIUS);
  const end = Math.min(text.length, at + length + EXCERPT_RADIUS);
  return `${start > 0 ? '…' : ''}${text.slice(start, end).replace(/\s+/g, ' ').trim()}${end < text.length ? '…' : ''}`;
}

function sourceOf(e: EvidenceItem): Source {
  const { excerpt: _excerpt, ...source } = e;
  return source;
}

/**
 * Each argument's source, one entry per argument value (strings and numbers; booleans and
 * nulls are choices, not values that come from somewhere). Evidence is searched newest first,
 * trusted sources before untrusted ones.
 */
export function attributeArguments(args: Record<string, unknown>, evidence: EvidenceItem[], trustedTool: TrustedTool): ArgumentProvenance[] {
  const isTrusted = (e: EvidenceItem) => e.type === 'user_message' || (e.type === 'tool_output' && trustedTool(e.tool));
  const newestFirst = [...evidence].reverse();
  const ordered = [...newestFirst.filter(isTrusted), ...newestFirst.filter((e) => !isTrusted(e))];
  return leaves(args, '', []).map((leaf) => {
    const common = { argument: leaf.argument, kind: leaf.kind, authorises: AUTHORISING.has(leaf.kind) };
    for (const e of ordered) {
      const at = leaf.find(e.excerpt);
      if (at >= 0) return { ...sourceOf(e), ...common, untrusted: !isTrusted(e), excerpt: excerptAround(e.excerpt, at, leaf.shown.length) };
    }
    return { type: 'model' as const, ...common, untrusted: false, excerpt: leaf.shown.slice(0, 2 * EXCERPT_RADIUS) };
  });
}

/** The authorising arguments that came from untrusted text: each one needs a person. */
/**
 * The authorising values no trusted source vouches for: found only in untrusted text, or found
 * nowhere at all. The second is fail-safe, not paranoia: the evidence the workflow carries is a
 * window (the last turns' chunks, not a sub-task's), and a value the model reworded from a chunk
 * ("bob at evil dot com") matches nothing — neither may pass on the tenant's `never`.
 */
export function untrustedAuthorising(provenance: ArgumentProvenance[]): ArgumentProvenance[] {
  return provenance.filter((p) => p.authorises && (p.untrusted || p.type === 'model'));
}

/** Where an argument came from, in a few words, for a rule an approver reads. */
export function describeSource(p: ArgumentProvenance): string {
  switch (p.type) {
    case 'user_message':
      return "the user's message";
    case 'document_chunk':
      return `chunk ${p.documentId}#${p.chunkId}`;
    case 'tool_output':
      return `${p.tool} output${p.callId ? `, call ${p.callId}` : ''}`;
    case 'quarantined':
      return p.documentId ? `quarantined chunk ${p.documentId}#${p.chunkId}` : `quarantined ${p.source} output ${p.ref}`;
    case 'model':
      return "the model: found in no message or data of the user's";
  }
}
