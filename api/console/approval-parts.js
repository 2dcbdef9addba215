// Pieces of an approval both the inbox and its detail show: where each argument came from, and
// what the approval needs (the role, how many people, whether untrusted text is involved).
import { badge, el } from './dom.js';

/** Where one argument's value was found, in words. */
export function sourceOf(p) {
  switch (p.type) {
    case 'user_message':
      return "the user's message";
    case 'document_chunk':
      return `document ${p.documentId ?? '?'} (chunk ${p.chunkId ?? '?'})`;
    case 'tool_output':
      return `${p.tool ?? 'a tool'} output`;
    case 'quarantined':
      return `quarantined ${p.source ?? ''} text`.replace('  ', ' ');
    case 'model':
      return 'written by the model';
    default:
      return String(p.type ?? 'unknown');
  }
}

/** A compact list: "orderId ← query_sql output". */
export function provenanceSummary(provenance) {
  if (!provenance?.length) return el('span', { class: 'muted', text: 'not attributed' });
  return el(
    'ul',
    { class: 'plain' },
    provenance.map((p) =>
      el('li', { class: p.untrusted ? 'untrusted' : undefined }, el('code', { text: p.argument }), ' ← ', sourceOf(p), p.untrusted ? el('strong', { text: ' (untrusted)' }) : null),
    ),
  );
}

/** The full table: argument, source, kind, whether it authorises the action, the text around it. */
export function provenanceTable(provenance) {
  if (!provenance?.length) return el('p', { class: 'muted', text: 'No argument could be attributed to a source.' });
  return el(
    'table',
    { class: 'grid provenance' },
    el('caption', { text: 'Where each argument came from' }),
    el('thead', {}, el('tr', {}, ['Argument', 'Source', 'Kind', 'Trust', 'Found in'].map((h) => el('th', { scope: 'col', text: h })))),
    el(
      'tbody',
      {},
      provenance.map((p) =>
        el(
          'tr',
          { class: p.untrusted ? 'flagged' : undefined },
          el('th', { scope: 'row' }, el('code', { text: p.argument })),
          el('td', {}, sourceOf(p)),
          el('td', {}, p.kind, p.authorises ? el('span', { class: 'muted', text: ' · authorises' }) : null),
          el('td', {}, p.untrusted ? badge('untrusted', 'fail') : badge('trusted', 'pass')),
          el('td', {}, el('span', { class: 'excerpt', text: p.excerpt ?? '' })),
        ),
      ),
    ),
  );
}

/** What an approval needs, as badges, and whether any authorising value came from untrusted text. */
export function riskOf(a) {
  const untrusted = (a.provenance ?? []).some((p) => p.untrusted && p.authorises);
  const people = a.approvalsNeeded === 1 ? '1 approver' : `${a.approvalsNeeded} approvers`;
  return {
    untrusted,
    badges: [
      badge(people, a.approvalsNeeded > 1 ? 'warn' : 'info'),
      a.approvedBy?.length ? badge(`${a.approvedBy.length} approved`, 'pass') : null,
      el('span', { class: 'muted small', text: ` ${a.requiredRole}` }),
      untrusted ? badge('untrusted source', 'fail') : null,
    ],
  };
}
