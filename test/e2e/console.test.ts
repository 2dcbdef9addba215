// The approver's and operator's console (GET /console) in a real browser: Debian's Chromium
// (/usr/bin/chromium, or CHROMIUM_BIN) driven by playwright-core against the real API, worker,
// Temporal dev server and PGlite, with the offline planner proposing a refund and an email.
// Signing in, the inbox, approving edited arguments and rejecting with a reason (keyboard only),
// a second tab's timeline following the task live, and the review desk answering a handed-off
// question and approving a handed-off candidate. Without the browser the test is skipped locally and fails in CI (CI=1, .ci/run
// installs it). UPDATE_SCREENSHOTS=1 writes the screenshots the README shows to docs/.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createUser } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import { quoteIdent, tenantSchema } from '../../infra/db/tenant-schema.js';
import { seedDemoDomain } from '../../infra/demo/domain.js';
import type { Services } from '../../infra/services.js';
import { indexDocuments } from '../support/corpus.js';
import { startTestWorker, testConfig, testLog, testServices, uniqueId, type TestWorker } from '../support/harness.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI);
if (!present && !inCi) console.warn(`console.test.ts skipped: no ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_BIN)`);
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? path.resolve('docs') : undefined;

(present || inCi ? describe : describe.skip)('the console in headless Chromium', () => {
  let services: Services;
  let worker: TestWorker;
  let app: Awaited<ReturnType<typeof buildApi>>;
  let browser: Browser;
  let context: BrowserContext;
  let base: string;
  let shots: string;
  const tenant = uniqueId('acme');
  /** The console's: a person who approves and reviews, no more. */
  let key = '';
  /** The backend that starts the tasks. */
  let backend = '';

  beforeAll(async () => {
    if (!present) throw new Error(`no chromium at ${CHROMIUM}: CI must install it (apt-get install -y chromium in .ci/run)`);
    const config = testConfig();
    services = await testServices('pglite', config);
    await seedDemoDomain(services.db, tenant);
    worker = await startTestWorker(services, config);
    app = await buildApi({ db: services.db, keyRing: services.keyRing, temporal: worker.client, config: { ...config, temporal: { ...config.temporal, taskQueue: worker.taskQueue } }, log: testLog });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    // Approvals are decided by people: the console's key is bound to one, with an approver's and a reviewer's roles only.
    const roles = ['approvals:write', 'reviews:write', 'tasks:read'] as const;
    const ada = await createUser(services.db, { tenantId: tenant, name: 'Ada Approver', roles: [...roles] });
    key = (await createApiKey(services.db, { tenantId: tenant, roles: [...roles], userId: ada.id })).key;
    backend = (await createApiKey(services.db, { tenantId: tenant, roles: ['admin'] })).key;
    // The tenant's policy sends an answer that names a competitor to a person, candidate and all. Set
    // before any task: workers cache a tenant's policy for 5 s (activities/guardrails/policy.ts).
    expect((await call('PUT', '/v1/guardrails/policy', { output: { brand: { competitors: ['Epson'], action: 'review' } } })).status).toBe(200);
    browser = await chromium.launch({ executablePath: CHROMIUM });
    // A laptop's screen.
    context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    shots = SCREENSHOTS ?? (await mkdtemp(path.join(os.tmpdir(), 'gatehouse-console-')));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await worker?.stop();
    await services?.close();
    if (shots && !SCREENSHOTS) await rm(shots, { recursive: true, force: true });
  });

  async function call(method: string, p: string, body?: unknown, as = backend) {
    const res = await fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${as}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- checked field by field
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const v = await probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  const focused = (page: Page) => page.locator(':focus');

  /** Signed in by keyboard alone: the key field has the focus, Enter submits. */
  async function signIn(page: Page): Promise<void> {
    await page.goto(`${base}/console`);
    await expect.poll(() => focused(page).getAttribute('id')).toBe('api-key');
    await page.keyboard.type(key);
    await page.keyboard.press('Enter');
    await page.locator('#who').filter({ hasText: 'Ada Approver' }).waitFor();
  }

  const screenshot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `console-${name}.png`) });

  it('is public, holds nothing, and is served under a strict Content-Security-Policy', async () => {
    const page = await fetch(`${base}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`${base}/console/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    for (const missing of ['/console/nope.js', '/console/..%2Fserver.ts', '/console/index.html']) expect((await fetch(`${base}${missing}`)).status).toBe(404);
    // Every data call is the API's: without a key, nothing.
    expect((await fetch(`${base}/v1/me`)).status).toBe(401);
    expect(await call('GET', '/v1/me', undefined, key)).toMatchObject({ status: 200, json: { tenantId: tenant, user: { name: 'Ada Approver' }, roles: ['approvals:write', 'reviews:write', 'tasks:read'] } });
    expect((await call('GET', '/v1/me')).json.user).toBeUndefined();
    // And the page never loads anything but its own files.
    const tab = await context.newPage();
    const foreign: string[] = [];
    tab.on('request', (r) => void (new URL(r.url()).origin !== base && foreign.push(r.url())));
    await tab.goto(`${base}/console`);
    await tab.locator('#api-key').fill('gh_not_a_key_0123456789abcdef');
    await tab.locator('#api-key').press('Enter');
    await tab.getByRole('alert').filter({ hasText: 'That key was not accepted' }).waitFor();
    expect(foreign).toEqual([]);
    await tab.close();
  });

  it('decides approvals by keyboard: an edited refund approved, the email rejected with a reason; a second tab follows live', async () => {
    const started = await call('POST', '/v1/tasks', { type: 'agent', input: "Refund Emily Doe's last order and email her a confirmation" });
    expect(started.status).toBe(202);
    const taskId = started.json.taskId as string;
    await until('two indexed approvals', async () => {
      const { rows } = await services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM approvals WHERE task_id = $1', [taskId]);
      return rows[0]!.n === 2 ? true : undefined;
    });

    // The operator's tab: the task's timeline, open before anyone decides.
    const watcher = await context.newPage();
    await signIn(watcher);
    await watcher.goto(`${base}/console#/tasks/${taskId}`);
    await watcher.locator('.events li', { hasText: 'approval_requested' }).nth(1).waitFor();
    await watcher.locator('.task-summary').getByText('awaiting_approval').waitFor();

    const page = await context.newPage();
    await signIn(page);
    const inbox = page.locator('table.inbox tbody tr', { hasText: taskId });
    await expect.poll(() => inbox.count()).toBe(2);
    // The two were proposed in one turn, in parallel: whichever was indexed first is the first row.
    const refund = inbox.filter({ hasText: 'Refund $79.00 on order 1004 (Emily Doe' });
    await expect.poll(() => refund.count()).toBe(1);
    expect(await inbox.filter({ hasText: 'Email emily.doe@example.com' }).count()).toBe(1);
    // Provenance, hash, what it needs, each on the row.
    expect(await refund.textContent()).toContain('orderId ← query_sql output');
    expect(await refund.locator('code.hash').textContent()).toMatch(/^[0-9a-f]{12}…$/);
    await screenshot(page, 'inbox');

    // Keyboard only from here: j down to the refund's row, Enter opens it.
    const rows = page.locator('table.inbox [data-row-link]');
    const refundRow = await rows.evaluateAll((links, id) => links.findIndex((a) => a.getAttribute('href')!.includes(id as string) && a.textContent!.startsWith('Refund')), taskId);
    for (let i = 0; i <= refundRow; i++) await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.locator('#approval-title').filter({ hasText: 'Refund $79.00 on order 1004' }).waitFor();
    expect(await page.locator('table.provenance').textContent()).toContain('amountUsd');
    await screenshot(page, 'approval');

    // e: the arguments editor. Broken JSON is refused here; a wrong type by the tool's schema, named.
    await page.keyboard.press('e');
    expect(await focused(page).getAttribute('id')).toBe('edit-arguments');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('{"orderId": 1004, "amountUsd": ');
    await expect.poll(() => page.locator('#edit-error').textContent()).toContain('Not valid JSON');
    expect(await page.locator('#edit-arguments').getAttribute('aria-invalid')).toBe('true');
    await page.keyboard.type('"fifty", "reason": "Partial refund: the toner was half used"}');
    await expect.poll(() => page.locator('#edit-error').textContent()).toBe('');
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => page.locator('#edit-error').textContent()).toContain('amountUsd');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('{"orderId": 1004, "amountUsd": 50, "reason": "Partial refund: the toner was half used"}');
    await page.keyboard.press('Control+Enter');
    // The edit is a new approval, shown again: a to approve it.
    await page.locator('.outcome').filter({ hasText: 'which shows your edit' }).waitFor();
    expect(page.url()).not.toContain('/apr_1');
    expect(await page.locator('#approval-title').textContent()).toContain('Refund $50.00 on order 1004');
    await page.keyboard.press('a');
    expect(await focused(page).textContent()).toBe('Approve');
    await page.keyboard.press('Enter');
    await page.locator('.outcome').filter({ hasText: 'Approved and executed' }).waitFor();
    const schema = quoteIdent(tenantSchema(tenant));
    expect((await services.db.query(`SELECT amount_usd::text AS amount FROM ${schema}.refunds`)).rows).toEqual([{ amount: '50.00' }]);

    // g i: back to the inbox; the email is the one row left; r, a reason, Enter rejects it.
    await page.keyboard.press('g');
    await page.keyboard.press('i');
    await expect.poll(() => inbox.count()).toBe(1);
    const emailRow = await rows.evaluateAll((links, id) => links.findIndex((a) => a.getAttribute('href')!.includes(id as string)), taskId);
    for (let i = 0; i <= emailRow; i++) await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.locator('#approval-title').filter({ hasText: 'Email emily.doe@example.com' }).waitFor();
    await page.keyboard.press('r');
    await page.keyboard.type('We will call her instead');
    await page.keyboard.press('Enter');
    await page.locator('.outcome').filter({ hasText: 'Rejected: We will call her instead' }).waitFor();
    const done = await call('GET', `/v1/tasks/${taskId}/result?wait=20`);
    expect(done.json.result.answer).toContain('send_email was rejected by the approver: We will call her instead');

    // The watcher's tab followed without a reload: the decisions, the execution, the end.
    await watcher.locator('.events li', { hasText: 'task_finished' }).waitFor();
    await watcher.locator('.task-summary').getByText('completed').waitFor();
    const steps = await watcher.locator('table.steps').textContent();
    expect(steps).toContain('execute:issue_refund');
    expect(steps).toContain('pii: flag'); // the input guard's verdicts
    expect(steps).toMatch(/\d+ ms/);
    const approvals = watcher.locator('section[aria-labelledby="approvals-title"] tbody tr');
    expect(await approvals.count()).toBe(3);
    expect(await approvals.filter({ hasText: 'superseded' }).count()).toBe(1);
    expect(await approvals.filter({ hasText: 'executed' }).textContent()).toContain('Refund $50.00');
    expect(await approvals.filter({ hasText: 'rejected' }).textContent()).toContain('We will call her instead');
    await watcher.locator('#answer-title').waitFor();
    await screenshot(watcher, 'timeline');
    await watcher.close();
    await page.close();
  }, 60_000);

  it('answers a handed-off question at the review desk, rendering untrusted text as text', async () => {
    // One plain question, and one whose text would be markup if the page ever rendered it as such.
    expect((await call('POST', '/v1/tasks', { type: 'answer', input: 'I want to talk to a person about the refund for order 1004, please.' })).status).toBe(202);
    const question = 'I want to talk to a person about my refund <img src=x onerror="document.title=1">';
    const started = await call('POST', '/v1/tasks', { type: 'answer', input: question });
    expect(started.status).toBe(202);
    const taskId = started.json.taskId as string;
    await until('needs_review', async () => ((await call('GET', `/v1/tasks/${taskId}`)).json.status === 'needs_review' ? true : undefined));

    const page = await context.newPage();
    await signIn(page);
    await page.keyboard.press('g');
    await page.keyboard.press('v');
    const row = page.locator('tbody tr', { hasText: taskId });
    await row.waitFor();
    // The question as its literal text: no element was made of it.
    expect(await row.locator('a').textContent()).toBe(question);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await row.textContent()).toContain('handoff: key_phrase');
    await screenshot(page, 'review-desk');

    await row.locator('a').click();
    await page.locator('#review-title').waitFor();
    await page.keyboard.press('e');
    await page.keyboard.type('Hi, this is Sam from support: your refund is on its way.');
    await page.keyboard.press('Control+Enter');
    await page.locator('[role="status"]').filter({ hasText: `Sent the answer of ${taskId}` }).waitFor();
    const done = await call('GET', `/v1/tasks/${taskId}/result?wait=20`);
    expect(done.json.result).toMatchObject({ answer: 'Hi, this is Sam from support: your refund is on its way.', guardrails: { verdict: 'reviewed' } });
    expect(await page.title()).toBe('Gatehouse console');
    await page.close();
    const waiting = (await call('GET', '/v1/tasks?status=needs_review')).json.tasks as Array<{ taskId: string }>;
    for (const t of waiting) await call('POST', `/v1/tasks/${t.taskId}/cancel`);
  }, 40_000);

  it('approves the candidate of a handed-off answer by keyboard: the user gets it as the model wrote it', async () => {
    await indexDocuments(services, { tenantId: tenant, collection: 'ink', documents: [{ id: 'ink', text: '# Ink\n\nOur XL ink cartridges also fit Epson printers of the WorkForce line.' }] });
    const started = await call('POST', '/v1/tasks', { type: 'answer', collection: 'ink', input: 'Do your XL ink cartridges fit Epson printers?' });
    expect(started.status).toBe(202);
    const taskId = started.json.taskId as string;
    const review = await until('needs_review', async () => {
      const task = (await call('GET', `/v1/tasks/${taskId}`)).json;
      return task.status === 'needs_review' ? (task.review as { candidate?: string; failures: string[] }) : undefined;
    });
    expect(review.failures).toContain('brand');
    expect(review.candidate).toContain('Epson');

    const page = await context.newPage();
    await signIn(page);
    await page.keyboard.press('g');
    await page.keyboard.press('v');
    await page.locator('tbody tr', { hasText: taskId }).waitFor();
    // j moves down the rows to this task's; Enter opens it.
    for (let i = 0; i < 10 && !((await focused(page).textContent()) ?? '').includes('Epson'); i++) await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.locator('#review-title').waitFor();
    expect(await page.locator('blockquote.answer').textContent()).toBe(review.candidate);
    // a only moves the focus to "Send the candidate as it is"; the Enter sends it.
    await page.keyboard.press('a');
    expect(await focused(page).textContent()).toBe('Send the candidate as it is');
    await page.keyboard.press('Enter');
    await page.locator('[role="status"]').filter({ hasText: `Sent the answer of ${taskId}` }).waitFor();
    const done = await call('GET', `/v1/tasks/${taskId}/result?wait=20`);
    expect(done.json.result).toMatchObject({ answer: review.candidate, guardrails: { verdict: 'reviewed' } });
    await page.close();
  }, 40_000);
});
