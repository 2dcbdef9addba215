// The offline `local` model's answer to the cache's question "may this answer be shared?"
// (activities/cache/cacheability.ts asks it after its own rules said yes). It is a second, wider
// set of rules, not a model: what the gateway's rules let through but an answer should not be
// shared for — a question about one account's own records ("order 1004"), or about
// something that changes by the hour ("in stock", "status of", "so far"). It answers as a remote
// model would, JSON {"scope": "tenant" | "user" | "none", "reason"}.

const CHANGING = /\b(recent(?:ly)?|so far|as of|up to date|still|in stock|out of stock|availab(?:le|ility)|remaining|left in|status of|balance|this quarter|upcoming|schedule[ds]?|open (?:now|until)|delayed|outage|price of)\b/i;
// A record's own number: whoever asks about order 1004 asks about one customer's order. (A first
// person — "my order" — is the gateway's rule already; "how do I…" is anyone's question.)
const ONE_ACCOUNT = /\b(?:order|invoice|ticket|account|case|refund|shipment|customer)\s*(?:no\.?|number)?\s*#?\d{3,}\b|#\d{3,}\b/i;

export function classifyCacheabilityLocally(question: string): string {
  const changing = CHANGING.exec(question);
  if (changing) return JSON.stringify({ scope: 'none', reason: `changes over time ("${changing[0]}")` });
  const account = ONE_ACCOUNT.exec(question);
  if (account) return JSON.stringify({ scope: 'user', reason: `about one account's own records ("${account[0]}")` });
  return JSON.stringify({ scope: 'tenant', reason: 'a general question anyone in the organisation may ask' });
}
