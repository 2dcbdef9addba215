// What the exact cache may store, and for whom.
import { describe, expect, it } from 'vitest';
import { cacheability } from '../../activities/cache/cacheability.js';
import { classifyCacheabilityLocally } from '../../activities/gateway/local/cacheability.js';

describe('cacheability', () => {
  it.each(['What is the restocking fee?', 'How do I clear a paper jam?', 'Tell me the return policy for printers'])('shares a generic question within the tenant: %s', (q) => {
    expect(cacheability(q)).toEqual({ scope: 'tenant' });
  });
  it.each(['What is the status of my order?', 'I ordered toner last week, where is it', 'Can you refund our invoice?'])('keeps a user-specific one to its user: %s', (q) => {
    expect(cacheability(q).scope).toBe('user');
  });
  it('keeps anything carrying masked PII to its user', () => {
    expect(cacheability('Send the manual to [EMAIL_ADDRESS_1]')).toEqual({ scope: 'user', reason: 'carries masked PII' });
  });
  it.each(["What's the weather today?", 'Is the store open now?', 'What is the latest firmware?'])('caches no time-sensitive one: %s', (q) => {
    expect(cacheability(q).scope).toBe('none');
  });
});

describe("the local model's cacheability rules (offline classifier)", () => {
  const verdict = (q: string) => (JSON.parse(classifyCacheabilityLocally(q)) as { scope: string }).scope;
  it.each(['What is the restocking fee?', 'How do I clear a paper jam?', 'Tell me the return policy for printers'])('leaves a generic question shareable: %s', (q) => {
    expect(verdict(q)).toBe('tenant');
  });
  it.each(['What was refunded on order 1004?', 'Is invoice #20231 paid?', 'Where is shipment 88123'])("keeps one record's question to its user: %s", (q) => {
    expect(verdict(q)).toBe('user');
  });
  it.each(['Is the Jet 5 in stock?', 'What is the status of the recall?', 'Which models are available?'])('caches none that changes over time: %s', (q) => {
    expect(verdict(q)).toBe('none');
  });
});
