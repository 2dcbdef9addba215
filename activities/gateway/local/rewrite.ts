// The offline model's question rewriting is rule-based: it substitutes the entity a follow-up
// refers to ("How about Emily Doe?") and says so when the reference cannot be resolved.
import { entities } from '../../text.js';
import type { ConversationTurn } from '../types.js';

const RELATIONS =
  /\b(wife|husband|partner|spouse|son|daughter|child|children|kids|mother|father|mom|dad|parents?|brother|sister|boss|manager|friend|colleague|assistant|family)\b/i;
const SUBJECT_PRONOUN = /\b(he|she|they|him|her|them|his|hers|their|theirs)\b/i;

export interface RewriteOutcome {
  resolved: boolean;
  standalone?: string;
  missing?: string;
}

export function rewriteWithRules(question: string, conversation: ConversationTurn[]): RewriteOutcome {
  const q = question.trim();
  const previous = [...conversation].reverse().find((t) => t.role === 'user' && t.content.trim() !== q)?.content.trim();
  const followUp = /^(?:and\s+)?(?:how|what)\s+about\s+(.+?)\??$/i.exec(q);
  const hasPronoun = SUBJECT_PRONOUN.test(q);
  if (!previous) {
    if (followUp || hasPronoun) return { resolved: false, missing: 'there is no earlier question to refer to' };
    return { resolved: true, standalone: q };
  }
  const prevEntities = entities(previous);
  const referent = prevEntities[prevEntities.length - 1];

  if (followUp) {
    const target = followUp[1]!.replace(/^(the|a|an)\s+/i, '').trim();
    const possessive = /^(his|her|their|its)\s+(.+)$/i.exec(target);
    if (possessive) {
      if (RELATIONS.test(possessive[2]!)) {
        return { resolved: false, missing: `who ${referent ? `${referent}'s` : 'their'} ${possessive[2]} is is not known from the conversation` };
      }
      if (!referent) return { resolved: false, missing: `it is unclear whose ${possessive[2]} is meant` };
      return { resolved: true, standalone: previous.replace(referent, `${referent}'s ${possessive[2]}`) };
    }
    if (!referent) return { resolved: false, missing: `it is unclear how "${target}" relates to "${previous}"` };
    return { resolved: true, standalone: previous.replace(referent, target) };
  }

  if (hasPronoun) {
    if (!referent) return { resolved: false, missing: 'it is unclear who the pronoun refers to' };
    const relation = new RegExp(`\\b(his|her|their)\\s+${RELATIONS.source}`, 'i').exec(q);
    if (relation) return { resolved: false, missing: `who ${referent}'s ${relation[2]} is is not known from the conversation` };
    const standalone = q
      .replace(/\b(his|her|their|hers|theirs)\b/gi, `${referent}'s`)
      .replace(/\b(he|she|they|him|them)\b/gi, referent);
    return { resolved: true, standalone };
  }
  return { resolved: true, standalone: q };
}
