// Person names, by heuristics over capitalised word runs: compromise's NLP parse finds names
// well but costs ~3 ms per 500 characters, over the whole latency budget, so we use its name
// lexicon (name-lexicon.ts) and the cues people write around names instead.
//
// A run of capitalised words (trimmed of words like "Dear" or "Support") is a name when
//   - it follows an honorific (Mr, Ms, Dr, …) or a naming cue ("my name is", "Regards,"), or
//   - it follows a strong cue ("Dear", "Thanks,", "From:") or a role word ("customer",
//     "spoke with", "assigned to") and has two words or one from the lexicon, or
//   - it starts with a known first name, has a middle initial ("Faina D. Yefremova"), or has
//     two or more words and ends with a known name, or
//   - it is a lone lexicon first name that is not also an everyday word ("Mark", "May").
// Runs containing an organisation's or place's word ("Inc", "Street", "Weekly") are skipped.
// Product names ("Jet 5", "LX-200", "FleetManager") never match: no lexicon word, no cue,
// and CamelCase is not a capitalised word.
import type { PiiSpan } from '../types.js';
import { FIRST_NAMES, SURNAMES } from './name-lexicon.js';
import { matches, span } from './span.js';

// A capitalised word ("García", "O'Sullivan", "Al-Sayed", "McDonald"), not its possessive "'s".
const NAME_WORD = "(?:Mc|Mac|O'|O’|D'|D’)?\\p{Lu}\\p{Ll}+(?:-\\p{Lu}?\\p{Ll}+|['’]\\p{Lu}?\\p{Ll}{2,})?";
const PARTICLE = '(?:van|von|de|da|del|della|der|den|di|du|dos|das|le|la|bin|ibn|al|el|ben)';
const INITIAL = '\\p{Lu}\\.?';
const NAME_RUN = new RegExp(
  `(?<![\\p{L}\\p{N}_])${NAME_WORD}(?:[ ](?:${PARTICLE}[ ]|${INITIAL}[ ])?${NAME_WORD}){0,3}(?![\\p{L}\\p{N}])`,
  'gu',
);

const HONORIFIC = /\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Madam|Mme|Herr|Frau|Señor|Señora|Sr|Sra)\.?\s$/;
/** Cues after which whatever capitalised words follow are a name. */
const NAME_CUE = /(?:\bmy name is|\bname is|\b(?:full |first |last |sur)?name\s*[:?]|\bsigned(?: by)?\s*:?|\bsincerely,?|\bregards,?)\s*$/i;
/** Cues strong enough that two capitalised words, or one lexicon name, after them are a name. */
const STRONG_CUE = /(?:\bI am|\bI'm|\bI’m|\bthanks,|\bcheers,|\bbest,|\bdear|\bfrom\s*:|\bto\s*:|\bcc\s*:|\battn\.?\s*:?|\bcontact person\s*:?|\bcustomer\s*:|\bholder\s*:?|\bdirected by\s*:?|—|–)\s*$/i;
/** Role words and phrases after which two capitalised words are a person ("Customer Chen García"). */
const ROLE_CUE = /(?:\bthis is|\bspoke (?:to|with)|\btalked to|\bask for|\bassigned to|\bescalated to|\b(?:ticket|message|e-?mail|request|call|note|complaint) from|\bcustomer|\bclient|\bcontact|\bpatient|\bemployee|\bcolleague|\buser|\blead|\bapplicant|\bcandidate|\bowner|\brequester|\breporter|\bassignee|\bguest|\bpassenger|\btenant|\bmember|\bholder|\btechnician|\bapprover)\s*[,:]?\s*$/i;
/** Weaker cues: after them only a lexicon name is taken ("with Becker", "and Sofia"). */
const WEAK_CUE = /(?:\bhi|\bhello|\bhey|\bmanager|\bauthor|\bagent|\bwith|\bby|\band|\bfor|\bmeet|\bcalled|\bnamed|\bfrom|\bunder)\s*,?\s*$/i;
/** "Hello Svetlana," — a lone capitalised word between a greeting and a comma is a name. */
const GREETING = /\b(?:hi|hello|hey|dear|thanks|thank you|cheers|bye)\s*$/i;

const words = (list: string) => new Set(list.split(' '));
/** Words that end organisations' and places' names: a run containing one is not a person. */
const ORG_OR_PLACE = words(
  'Street St Road Rd Avenue Ave Lane Drive Way Court Place Square Boulevard Parks Park Inc Ltd LLC Corp Corporation ' +
    'Company Co Group Bank Capital Orchestra Band University College School Institute Foundation Hospital Hotel Airport ' +
    'Station Weekly Times News Journal Technologies Solutions Systems Partners Associates Airlines Bridge River Lake ' +
    'Island Mountains Union Fort Printers',
);
/** Title-case words that are never part of a person's name: the run is cut there. */
const NOT_NAMES = words(
  'Support Team Service Services Sales Billing Printer Manager Department Monday Tuesday Wednesday Thursday Friday ' +
    'Saturday Sunday January February March April May June July August September October November December The This ' +
    'That These Those Please Thanks Thank Hello Hi Dear Regards Best Cheers Yes No Ok Okay Order Invoice Account ' +
    'Customer Ticket Case Refund Payment Card Visa Mastercard Amex Jet Pro Max Mini Plus Ultra Cloud Premium ' +
    'Enterprise Standard Business Home Office Edition Series Model Update Version Release English French German ' +
    'Spanish Indian American British European Windows Linux Android Google Microsoft Apple Amazon Slack Stripe Github ' +
    'Gitlab Email Phone Mobile Address Name Date Birth Social Security Number Id Api Key Token Password Born Mr Mrs Ms Dr',
);
/** Lexicon first names that are also everyday words: only a name with a surname after them. */
const AMBIGUOUS_FIRST = new Set(['grace', 'mark', 'jack', 'pat', 'sue', 'amber', 'chase', 'angel', 'drew', 'wade', 'victor', 'don', 'carol', 'will', 'bill', 'may', 'june', 'april', 'august', 'art', 'rose', 'hope', 'joy', 'faith']);

const isFirst = (w: string) => FIRST_NAMES.has(w.toLowerCase());
const isSurname = (w: string) => SURNAMES.has(w.toLowerCase());

function sentenceInitial(text: string, start: number): boolean {
  const before = text.slice(Math.max(0, start - 3), start);
  return start === 0 || /(?:^|[.!?:;\n]["')\]]?)\s*$/.test(before) || /\n\s*$/.test(before);
}

interface Word {
  text: string;
  start: number;
}

function splitWords(run: string, offset: number): Word[] {
  const out: Word[] = [];
  for (const m of run.matchAll(/\S+/g)) out.push({ text: m[0], start: offset + m.index });
  return out;
}

export function detectPersons(text: string): PiiSpan[] {
  const found: PiiSpan[] = [];
  for (const m of matches(text, NAME_RUN)) {
    let ws = splitWords(m[0], m.index);
    if (ws.some((w) => ORG_OR_PLACE.has(w.text))) continue;
    // Trim the run to its name: drop leading words that are never names ("Dear", "Ms"), cut at
    // the next one ("Anna Schmidt Support"), and start at a known first name when other
    // capitalised words open the run ("Applicant Ingrid Müller", "Yesterday Anna Lee").
    while (ws.length > 0 && NOT_NAMES.has(ws[0]!.text)) ws.shift();
    const stop = ws.findIndex((w) => NOT_NAMES.has(w.text));
    if (stop >= 0) ws = ws.slice(0, stop);
    const firstKnown = ws.findIndex((w) => isFirst(w.text));
    if (firstKnown > 0 && ws.length - firstKnown >= 2 && !HONORIFIC.test(text.slice(Math.max(0, ws[0]!.start - 12), ws[0]!.start))) ws = ws.slice(firstKnown);
    if (ws.length === 0) continue;
    const first = ws[0]!;
    const last = ws[ws.length - 1]!;
    const lead = text.slice(Math.max(0, first.start - 24), first.start);
    const initial = sentenceInitial(text, first.start);
    const known = ws.some((w) => isFirst(w.text) || isSurname(w.text));
    const lone = ws.length === 1 && !AMBIGUOUS_FIRST.has(first.text.toLowerCase());
    // "Faina D. Yefremova": a middle initial between capitalised words is a strong name shape.
    const middleInitial = ws.length >= 3 && ws.slice(1, -1).some((w) => /^\p{Lu}\.?$/u.test(w.text));

    let score = 0;
    if (HONORIFIC.test(lead)) score = 0.85;
    else if (NAME_CUE.test(lead)) score = 0.8;
    else if (STRONG_CUE.test(lead)) score = ws.length >= 2 || known ? 0.8 : 0;
    else if (isFirst(first.text) && ws.length >= 2) score = 0.8;
    else if (middleInitial) score = 0.75;
    else if (ws.length >= 2 && (isSurname(last.text) || isFirst(last.text))) score = 0.7;
    else if (ws.length === 1 && GREETING.test(lead) && /^\s*[,!]/.test(text.slice(first.start + first.text.length))) score = 0.6;
    else if (ROLE_CUE.test(lead) && (ws.length >= 2 || known)) score = 0.65;
    else if ((ROLE_CUE.test(lead) || WEAK_CUE.test(lead)) && lone && (isFirst(first.text) || isSurname(first.text))) score = 0.6;
    else if (lone && isFirst(first.text)) score = initial ? 0.55 : 0.6;
    if (score === 0) continue;
    // Four words at most: "Maria José García López" is one person, longer runs rarely are.
    const kept = ws.slice(0, 4);
    const end = kept[kept.length - 1]!.start + kept[kept.length - 1]!.text.length;
    found.push(span('PERSON', text, first.start, end, 'lexicon+cues', score));
  }
  return found;
}
