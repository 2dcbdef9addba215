// What the exact cache may store, and for whom.
import { describe, expect, it } from 'vitest';
import { cacheability } from '../../activities/cache/cacheability.js';

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
