// The review desk: answers handed off to a person (status needs_review) — the user asked for
// one, or the answer failed its output checks and the tenant's failure ladder ended with a
// reviewer. A reviewer approves the candidate answer as it is or sends an edited one.
import { api } from './api.js';
import { badge, el, replace, time } from './dom.js';

let notice;

export async function renderReviews(main, ctx) {
  const status = el('p', { class: 'muted', role: 'status', text: 'Loading…' });
  const body = el('div');
  const title = el('h1', { id: 'reviews-title', tabindex: '-1', text: 'Review desk' });
  replace(main, el('section', { 'aria-labelledby': 'reviews-title' }, el('div', { class: 'heading' }, title, el('button', { type: 'button', onclick: () => ctx.go('#/reviews') }, 'Refresh')), status, body));
  title.focus();
  let reviews;
  try {
    const { tasks } = await api('GET', '/v1/tasks?status=needs_review&limit=50');
    // The list says which tasks wait; each task's status says what for.
    reviews = (await Promise.all(tasks.map((t) => api('GET', `/v1/tasks/${encodeURIComponent(t.taskId)}`).catch(() => undefined)))).filter((t) => t?.review);
  } catch (err) {
    if (err.status === 401) return ctx.signedOut();
    replace(status, el('span', { class: 'error', role: 'alert' }, `Could not load the review desk: ${err.message}`));
    return;
  }
  const shown = notice;
  notice = undefined;
  replace(status, shown ?? `${reviews.length} waiting for a reviewer`);
  replace(
    body,
    reviews.length
      ? el(
          'table',
          { class: 'grid' },
          el('caption', { class: 'visually-hidden', text: 'Answers waiting for a reviewer; open one to answer it' }),
          el('thead', {}, el('tr', {}, ['Question', 'Why', 'Candidate answer', 'Failed checks', 'Type', 'Expires'].map((h) => el('th', { scope: 'col', text: h })))),
          el(
            'tbody',
            {},
            reviews.map((t) =>
              el(
                'tr',
                {},
                el('td', {}, el('a', { href: `#/reviews/${encodeURIComponent(t.taskId)}`, 'data-row-link': true, class: 'untrusted-text', text: t.review.question ?? t.taskId }), el('div', { class: 'muted small', text: t.taskId })),
                el('td', { text: t.review.reason }),
                el('td', { class: 'small' }, t.review.candidate ? el('span', { class: 'untrusted-text clamp', text: t.review.candidate }) : el('span', { class: 'muted', text: 'none: write the answer' })),
                el('td', {}, t.review.failures.length ? t.review.failures.map((f) => badge(f, 'fail')) : el('span', { class: 'muted', text: '—' })),
                el('td', { text: t.type }),
                el('td', {}, time(t.review.expiresAt)),
              ),
            ),
          ),
        )
      : el('p', { class: 'empty', text: 'No answer is waiting for a reviewer.' }),
  );
}

export async function renderReview(main, { taskId }, ctx) {
  let task;
  try {
    task = await api('GET', `/v1/tasks/${encodeURIComponent(taskId)}`);
  } catch (err) {
    if (err.status === 401) return ctx.signedOut();
    replace(main, el('p', { class: 'error', role: 'alert' }, `Could not load task ${taskId}: ${err.message}`), el('a', { href: '#/reviews', text: 'Back to the review desk' }));
    return;
  }
  const title = el('h1', { id: 'review-title', tabindex: '-1', text: 'Review an answer' });
  const crumbs = el('p', { class: 'crumbs' }, el('a', { href: '#/reviews', text: 'Review desk' }), ' / ', el('a', { href: `#/tasks/${encodeURIComponent(taskId)}`, text: taskId }));
  if (!task.review) {
    replace(main, crumbs, title, el('p', {}, `Task ${taskId} is ${task.status}: nothing waits for a review.`));
    title.focus();
    return;
  }
  const r = task.review;
  const outcome = el('div', { role: 'status', 'aria-live': 'polite', class: 'outcome' });
  const buttons = [];
  async function send(body) {
    buttons.forEach((b) => (b.disabled = true));
    try {
      const done = await api('POST', `/v1/tasks/${encodeURIComponent(taskId)}/review`, body);
      notice = `Sent the answer of ${taskId}: ${done.answer}`;
      ctx.announce('Review sent');
      ctx.go('#/reviews');
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      replace(outcome, el('p', { class: 'error', role: 'alert' }, err.message));
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  const reason = el('input', { id: 'review-reason', name: 'reason', maxlength: 2000, autocomplete: 'off' });
  const reasonValue = () => reason.value.trim() || undefined;
  const approveButton = el('button', { type: 'submit', class: 'primary', 'data-shortcut': 'a' }, 'Send the candidate as it is');
  const answer = el('textarea', { id: 'review-answer', name: 'answer', rows: 8, required: true, maxlength: 20000, 'data-shortcut': 'e', 'aria-describedby': 'review-answer-help' });
  answer.value = r.candidate ?? '';
  const editButton = el('button', { type: 'submit' }, 'Send this answer');
  buttons.push(approveButton, editButton);
  const editForm = el(
    'form',
    {
      class: 'card decide',
      'aria-labelledby': 'edit-answer-title',
      onsubmit: (e) => {
        e.preventDefault();
        if (!answer.value.trim()) return answer.focus();
        void send({ decision: 'edit', answer: answer.value, reason: reasonValue() });
      },
    },
    el('h2', { id: 'edit-answer-title', text: r.candidate ? 'Or send an edited answer' : 'Write the answer' }),
    el('label', { for: 'review-answer', text: 'Answer' }),
    answer,
    el('p', { id: 'review-answer-help', class: 'muted small', text: 'Ctrl+Enter sends.' }),
    editButton,
  );
  answer.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      editForm.requestSubmit();
    }
  });

  replace(
    main,
    crumbs,
    el('div', { class: 'heading' }, title, badge(task.status)),
    outcome,
    el(
      'div',
      { class: 'columns' },
      el(
        'div',
        { class: 'column' },
        el(
          'dl',
          { class: 'facts' },
          el('dt', { text: 'Question' }),
          el('dd', { class: 'untrusted-text', text: r.question ?? '(not recorded)' }),
          el('dt', { text: 'Why' }),
          el('dd', { text: r.reason }),
          el('dt', { text: 'Failed checks' }),
          el('dd', {}, r.failures.length ? r.failures.map((f) => badge(f, 'fail')) : '—'),
          el('dt', { text: 'Requested' }),
          el('dd', {}, time(r.requestedAt)),
          el('dt', { text: 'Expires' }),
          el('dd', {}, time(r.expiresAt), el('span', { class: 'muted small', text: ' (then the stock response is sent)' })),
        ),
        el('section', { 'aria-labelledby': 'candidate-title' }, el('h2', { id: 'candidate-title', text: 'Candidate answer' }), r.candidate ? el('blockquote', { class: 'answer untrusted-text', text: r.candidate }) : el('p', { class: 'muted', text: 'There is none: no model answered (the user asked for a person).' })),
      ),
      el(
        'div',
        { class: 'column' },
        el('div', { class: 'card' }, el('label', { for: 'review-reason', text: 'Note for the record (optional)' }), reason),
        r.candidate
          ? el(
              'form',
              { class: 'card decide', 'aria-labelledby': 'approve-answer-title', onsubmit: (e) => (e.preventDefault(), void send({ decision: 'approve', reason: reasonValue() })) },
              el('h2', { id: 'approve-answer-title', text: 'Approve the candidate' }),
              approveButton,
            )
          : null,
        editForm,
      ),
    ),
  );
  title.focus();
}
