// Context-length routing: what the gateway does when a request's prompt outgrows a model's
// window (a tool returned 8,000 tokens to a 4K model). Without a rule the chain moves on to the
// next model, as before; a route may instead ask for one of two stated rules:
// - `truncate`: the longest message after the system prompt is cut in its middle — its head
//   and its tail kept (a tool output's start, a prompt's closing question), two thirds head,
//   one third tail — and marked with how many tokens were cut; repeated until the prompt fits.
// - `larger_model`: the smallest-window model in the registry that fits the prompt and can do
//   what the request needs (tools, JSON) is tried first (never the offline `local` model).
import type { ContextOverflow } from '../../contracts/routing.js';
import type { ModelSpec } from '../../infra/config.js';
import { decode, encode } from '../tokens.js';
import { estimatePromptTokens } from './providers/index.js';
import type { ChatMessage, ChatRequest, ContextFit } from './types.js';

export type { ContextFit, ContextOverflow };

/** The room a model leaves for the prompt: its window less the reply's tokens. */
export const promptRoom = (spec: ModelSpec, req: Pick<ChatRequest, 'maxTokens'>) => spec.contextWindow - (req.maxTokens ?? 512);

/** The request cut to fit `room` prompt tokens by the truncate rule, or undefined when cutting cannot make it fit. */
export function truncateToFit(req: ChatRequest, room: number): { req: ChatRequest; cutTokens: number } | undefined {
  let messages = req.messages;
  let cutTokens = 0;
  for (let round = 0; round < 8; round++) {
    const over = estimatePromptTokens({ ...req, messages }) - room;
    if (over <= 0) return { req: { ...req, messages }, cutTokens };
    const i = longestAfterSystem(messages);
    if (i === undefined) return undefined;
    const tokens = encode(messages[i]!.content);
    const marker = (n: number) => `\n[… ${n} tokens cut to fit the model's context window …]\n`;
    // The marker costs tokens too; cut a little more than the excess so one round usually does it.
    const cut = Math.min(tokens.length, over + encode(marker(over)).length + 8);
    const keep = tokens.length - cut;
    if (keep < 16) return undefined;
    const head = Math.ceil((keep * 2) / 3);
    const text = decode(tokens.slice(0, head)) + marker(cut) + decode(tokens.slice(tokens.length - (keep - head)));
    messages = messages.map((m, j) => (j === i ? ({ ...m, content: text } as ChatMessage) : m));
    cutTokens += cut;
  }
  return undefined;
}

function longestAfterSystem(messages: ChatMessage[]): number | undefined {
  let best: number | undefined;
  messages.forEach((m, i) => {
    if (m.role === 'system') return;
    if (best === undefined || m.content.length > messages[best]!.content.length) best = i;
  });
  return best;
}

/** The smallest-window registry model that fits the request and can do what it needs; undefined when none can. */
export function largerModel(registry: ModelSpec[], req: ChatRequest, prompt = estimatePromptTokens(req)): ModelSpec | undefined {
  return registry
    .filter((s) => promptRoom(s, req) >= prompt)
    .filter((s) => (!req.tools?.length || s.capabilities.tools) && (req.responseFormat !== 'json' || s.capabilities.json))
    // The offline model reads the structured task, not the messages: it holds no long prompt.
    .filter((s) => s.provider !== 'local')
    .sort((a, b) => a.contextWindow - b.contextWindow || a.inputPricePerMTok - b.inputPricePerMTok)[0];
}
