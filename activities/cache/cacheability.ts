// What may be cached, and for whom: rules over the request's latest user message. Time-sensitive
// questions ("the weather today", "current status") are not cached at all — a stored answer would
// be wrong tomorrow. User-specific ones ("my order") and anything carrying masked PII (a
// placeholder such as [EMAIL_ADDRESS_1]) are kept to the user who asked, never shared; without a
// known user they are not cached. Everything else is shared within the tenant, never beyond it.

export type Cacheability = { scope: 'tenant' } | { scope: 'user'; reason: string } | { scope: 'none'; reason: string };

const TIME_SENSITIVE = /\b(today|tonight|tomorrow|yesterday|now|right now|currently|current|latest|this (?:week|month|year|morning|afternoon|evening)|at the moment|weather|news|live)\b/i;
// What belongs to the asker ("my order", "our invoice", "I ordered"), not a generic first person
// ("how do I clear a jam?", "tell me the fee"), which anyone may ask the same way.
const FIRST_PERSON = /\b(my|mine|our|ours|i (?:ordered|bought|paid|returned|sent|received|placed|was charged|have an?|had an?))\b/i;
const PLACEHOLDER = /\[[A-Z_]+_\d+\]/;

/** The word that makes a text time-sensitive, if one does. */
export function timeSensitive(text: string): string | undefined {
  return TIME_SENSITIVE.exec(text)?.[0];
}

/** Whether a text carries a PII placeholder: its value is one task's, not anyone else's. */
export function carriesPlaceholder(text: string): boolean {
  return PLACEHOLDER.test(text);
}

export function cacheability(text: string): Cacheability {
  const time = timeSensitive(text);
  if (time) return { scope: 'none', reason: `time-sensitive ("${time}")` };
  if (carriesPlaceholder(text)) return { scope: 'user', reason: 'carries masked PII' };
  const person = FIRST_PERSON.exec(text);
  if (person) return { scope: 'user', reason: `user-specific ("${person[0]}")` };
  return { scope: 'tenant' };
}

