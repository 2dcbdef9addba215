// A short schema-driven fuzz of the whole API (schemathesis against /openapi.json, with an admin
// key) on a real Temporal dev server and PGlite: no request may get a 5xx or hang. The long run
// (10,000 requests, by endpoint) is `npm run bench -- fuzz`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-harness.js';
import { runSchemathesis } from '../support/schemathesis.js';

const MAX_SECONDS = 75;

describe('the API under a schema-driven fuzzer', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it(
    'answers every generated request with a non-5xx response in time',
    async () => {
      const report = await runSchemathesis({ baseUrl: api.base, apiKey: api.keys.admin, maxTimeSeconds: MAX_SECONDS, maxExamples: 25, seed: 9, workers: 2 });
      console.log(`[fuzz] ${report.totals.requests} requests in ${report.seconds.toFixed(0)} s: ${JSON.stringify(report.totals)}`);
      expect(report.totals.requests).toBeGreaterThan(200);
      if (report.failures.length) console.log(report.summary);
      expect(report.problems, report.summary).toEqual([]);
      expect(report.totals['5xx']).toBe(0);
      expect(report.totals.hangs).toBe(0);
      expect(report.totals.slow).toBe(0);
      // The other chosen checks (response schema, content type) passed too. Schemathesis's own
      // generator errors (it reports some as "Runtime Error") are its bugs, not the API's.
      expect(report.failures, report.summary).toEqual([]);
    },
    (MAX_SECONDS + 240) * 1000,
  );
});
