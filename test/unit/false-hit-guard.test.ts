import { describe, expect, it } from 'vitest';
import { compareQueries } from '../../activities/cache/false-hit-guard.js';

const same = (a: string, b: string) => compareQueries(a, b).same;
const kinds = (a: string, b: string) => compareQueries(a, b).differences.map((d) => d.kind);

describe('false-hit guard: the spec examples', () => {
  it('lets an extra word that is no entity, number, date or negation through', () => {
    expect(compareQueries("What's the capital city of Vietnam?", "What's the capital of Vietnam?")).toEqual({ same: true, differences: [] });
  });

  it('blocks another customer', () => {
    const r = compareQueries('When did Emily Doe last order?', 'When did John Doe last order?');
    expect(r.same).toBe(false);
    expect(r.differences).toEqual([{ kind: 'entity', a: 'emily', b: 'john' }]);
  });

  it('blocks used against unused', () => {
    const r = compareQueries('Can I return a used cartridge?', 'Can I return an unused cartridge?');
    expect(r.same).toBe(false);
    expect(r.differences).toEqual([{ kind: 'polarity', a: 'used', b: 'unused' }]);
  });
});

describe('false-hit guard: entities', () => {
  it('blocks swapped products, places and presidents', () => {
    expect(kinds('How do I connect the Jet 5 to Wi-Fi?', 'How do I connect the LX-200 to Wi-Fi?')).toContain('entity');
    expect(kinds('What is the page yield of the TN-220?', 'What is the page yield of the TN-220XL?')).toEqual(['entity']);
    expect(kinds('Do you ship to Ireland?', 'Do you ship to Canada?')).toEqual(['entity']);
    expect(kinds('What did Truman say about the Marshall Plan?', 'What did Eisenhower say about the Marshall Plan?')).toEqual(['entity']);
  });

  it('finds names written lowercase', () => {
    expect(kinds('when did emily doe last order?', 'When did John Doe last order?')).toEqual(['entity']);
  });

  it('is case, possessive and hyphen tolerant', () => {
    expect(same("When was John Doe's most recent order?", 'when was john doe most recent order?')).toBe(true);
    expect(same('How do I set up wifi on my lx-200?', 'How do I set up Wi-Fi on my LX-200?')).toBe(true);
  });

  it('lets one side name something the other only implies', () => {
    expect(same("What's the price of the Jet 5?", 'How much does the Inkwell Jet 5 cost?')).toBe(true);
    expect(same('Who was president in 1962?', 'Which president gave the 1962 State of the Union?')).toBe(true);
  });
});

describe('false-hit guard: numbers', () => {
  it('blocks a different order number, price, percentage or count', () => {
    expect(kinds('What is the status of order 1007?', 'What is the status of order 1008?')).toEqual(['number']);
    expect(kinds('Is shipping free on orders over $50?', 'Is shipping free on orders over $100?')).toEqual(['number']);
    expect(kinds('Does a 15% restocking fee apply?', 'Does a 20% restocking fee apply?')).toEqual(['number']);
    expect(kinds('Is there a discount for buying five printers?', 'Is there a discount for buying ten printers?')).toEqual(['number']);
  });

  it('blocks a number only one side has', () => {
    expect(kinds('Can I return a printer after 30 days?', 'Can I return a printer?')).toEqual(['number']);
  });

  it('reads number words, units and multipliers', () => {
    expect(same('Why did Johnson want a four-year term?', 'Why did Johnson want a 4-year term?')).toBe(true);
    expect(same('Does a 15 percent fee apply?', 'Does a 15% fee apply?')).toBe(true);
    expect(same('What about the $1.9 trillion plan?', 'What about the 1.9 trillion dollar plan?')).toBe(true);
    expect(same('Is a $50 fee charged?', 'Is a 50% fee charged?')).toBe(false);
    expect(same('Who proposed 100,000 police officers?', 'Who proposed one hundred thousand police officers?')).toBe(true);
  });

  it('does not read a product code as a number', () => {
    expect(compareQueries('How many pages does a TN-220 print?', 'What is the page yield of the TN-220?').differences).toEqual([]);
  });
});

describe('false-hit guard: dates', () => {
  it('blocks different days, months, years and relative dates', () => {
    expect(kinds('What orders came in today?', 'What orders came in yesterday?')).toEqual(['date']);
    expect(kinds('How many orders were placed in March?', 'How many orders were placed in May?')).toEqual(['date']);
    expect(kinds('Which orders shipped on 2026-10-08?', 'Which orders shipped on 2026-10-09?')).toEqual(['date']);
    expect(kinds('What did Reagan say in his 1984 address?', 'What did Reagan say in his 1985 address?')).toEqual(['date']);
    expect(kinds('What refunds were issued last week?', 'What refunds were issued this week?')).toEqual(['date']);
    expect(kinds('Is support open on Saturday?', 'Is support open on Sunday?')).toEqual(['date']);
  });

  it('reads a day and its month in either order, and "may" the verb as no month', () => {
    expect(same('Which orders were placed on 3 May?', 'Which orders were placed on May 3rd?')).toBe(true);
    expect(compareQueries('Which orders may be late?', 'Which orders could be late?').differences).toEqual([]);
  });

  it('blocks a date only one side has; "last" alone is no date', () => {
    expect(kinds('What orders came in today?', 'What orders came in?')).toEqual(['date']);
    expect(same('When did John Doe last order?', "When was John Doe's most recent order?")).toBe(true);
  });
});

describe('false-hit guard: negation and polarity', () => {
  it('blocks not, n\'t, never and no on one side', () => {
    expect(kinds('Which orders have been delivered?', 'Which orders have not been delivered?')).toEqual(['negation']);
    expect(kinds('Why is my printer connecting?', "Why isn't my printer connecting?")).toEqual(['negation']);
    expect(kinds('Which customers ordered a plan?', 'Which customers never ordered a plan?')).toEqual(['negation']);
    expect(kinds('Is a receipt required?', 'Is no receipt required?')).toEqual(['negation']);
  });

  it('lets a negation both sides have through', () => {
    expect(same("Why won't my LX-200 connect to the network?", 'My LX-200 will not join the network, why?')).toBe(true);
  });

  it('blocks a word against its un-, non-, in-, il- or dis- form', () => {
    expect(kinds('Is the ink set refundable?', 'Is the ink set non-refundable?')).toEqual(['polarity']);
    expect(kinds('Can I return an opened printer?', 'Can I return an unopened printer?')).toEqual(['polarity']);
    expect(kinds('What about legal immigration?', 'What about illegal immigration?')).toEqual(['polarity']);
    expect(kinds('Is it compatible with the LX-200?', 'Is it incompatible with the LX-200?')).toEqual(['polarity']);
    expect(kinds('Which refunds were approved?', 'Which refunds were disapproved?')).toEqual(['polarity']);
  });

  it('does not take a word that merely starts like a prefix for an antonym', () => {
    expect(same('How do I install the drum unit?', 'What are the steps to install the drum unit?')).toBe(true);
  });
});

describe('false-hit guard: paraphrase styles', () => {
  it.each([
    ['reworded question', 'How long do I have to return a printer?', 'What is the return window for a printer?'],
    ['statement form', 'How do I clear a paper jam in the Jet 5?', 'My Jet 5 has a paper jam, how do I fix it?'],
    ['synonyms', 'How much is standard shipping?', 'What does standard delivery cost?'],
    ['possessive', "What was Kennedy's proposal for the Peace Corps?", 'What did Kennedy propose about the Peace Corps?'],
    ['inflection', 'How did Kennedy talk about Cuba?', 'How did Kennedy talk about the Cuban missile crisis?'],
    ['same date, other words', 'What did Biden say about the January 6 attack?', 'How did Biden describe the attack on the Capitol on January 6?'],
  ])('%s', (_style, a, b) => {
    expect(compareQueries(a, b)).toEqual({ same: true, differences: [] });
  });
});
