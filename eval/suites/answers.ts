// Answer quality with the offline `local` model on the demo corpus' labeled questions
// (infra/demo/corpus/questions.json: a question, the facts a right answer states, the documents
// that hold them). The Inkwell documents are ingested into native Postgres with MiniLM embeddings;
// each question goes through the answer activities the worker registers, in the order
// answerQuestion calls them — retrieve at the API's default options, order for attention,
// generate — with the caches off. The guards, the router and Temporal itself are left out: they
// decide whether an answer is written, not what it says.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createActivities } from '../../activities/index.js';
import { loadConfig } from '../../infra/config.js';
import { DEMO_CORPUS_DIR, loadDemoCorpus } from '../../infra/demo/seed.js';
import { createLogger } from '../../infra/logger.js';
import { createServices } from '../../infra/services.js';
import { orderForAttention } from '../../workflows/policy/context-order.js';
import { indexDocuments } from '../../test/support/corpus.js';
import { TEST_PAYLOAD_KEYS } from '../../test/support/harness-config.js';
import { startNativePostgres } from '../../test/support/native-postgres.js';
import { metric, type Suite } from '../suite.js';

const NAME = 'answers';
const TENANT = 'eval';

interface LabeledQuestion {
  question: string;
  expectedFacts: string[];
  /** Files of the demo corpus (`paper-jams.md`); any one of them holds the facts. */
  sources: string[];
}

const QUESTIONS: LabeledQuestion[] = JSON.parse(readFileSync(path.join(DEMO_CORPUS_DIR, 'questions.json'), 'utf8'));

/** Case, spacing and Markdown emphasis aside, the fact's words as written. */
const normalize = (s: string) => s.normalize('NFKC').replace(/\*\*|__|`/g, '').replace(/\s+/g, ' ').toLowerCase();
/** A corpus file's document id, as loadDemoCorpus names it. */
const documentId = (file: string) => file.replace(/\.md$/, '');

export const answers: Suite = {
  name: NAME,
  title: `demo corpus' labeled questions (${QUESTIONS.length}): fact match and citation accuracy with the local model`,
  ci: true,
  async run(ctx) {
    // The environment is not read: the offline model and the defaults, whatever the shell sets.
    const config = loadConfig({ GATEHOUSE_CACHE: 'off', PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS, GATEHOUSE_CHAT_MODEL: 'local' });
    const log = createLogger('silent');
    const pg = await startNativePostgres();
    const services = await createServices(config, { databaseUrl: pg.url, log, embedder: await ctx.embedder() });
    try {
      await indexDocuments(services, { tenantId: TENANT, collection: 'demo', documents: await loadDemoCorpus(), chunking: config.chunking });
      const activities = createActivities({ ...services, config, log });
      const outcomes = [];
      for (const q of QUESTIONS) {
        const retrieved = await activities.retrieve({ tenantId: TENANT, collection: 'demo', query: q.question, ...config.retrieval });
        const out = await activities.generateAnswer({ question: q.question, passages: orderForAttention(retrieved.passages), context: { tenantId: TENANT } });
        const answer = normalize(out.answer);
        const cited = [...new Set(out.citations.map((c) => c.documentId))];
        const required = q.sources.map(documentId);
        outcomes.push({
          question: q.question,
          model: out.model,
          factsFound: q.expectedFacts.filter((f) => answer.includes(normalize(f))),
          factsMissed: q.expectedFacts.filter((f) => !answer.includes(normalize(f))),
          share: q.expectedFacts.filter((f) => answer.includes(normalize(f))).length / q.expectedFacts.length,
          cited,
          citedRight: cited.filter((d) => required.includes(d)),
          required,
        });
      }
      const models = [...new Set(outcomes.map((o) => o.model))];
      if (models.some((m) => m !== 'local')) throw new Error(`answers were written by ${models.join(', ')}, not the offline local model`);
      const citedDocuments = outcomes.reduce((n, o) => n + o.cited.length, 0);
      return {
        metrics: [
          // Per question, the share of its facts the answer states; averaged over questions.
          metric(NAME, 'fact_match', outcomes.reduce((n, o) => n + o.share, 0) / outcomes.length, 'higher', 'ann'),
          // Of the documents the answers cite, the share that hold the question's facts.
          metric(NAME, 'citation_precision', outcomes.reduce((n, o) => n + o.citedRight.length, 0) / citedDocuments, 'higher', 'ann'),
          // The share of questions whose answer cites at least one document that holds its facts.
          metric(NAME, 'cites_a_source', outcomes.filter((o) => o.citedRight.length > 0).length / outcomes.length, 'higher', 'ann'),
        ],
        details: { questions: outcomes },
      };
    } finally {
      // Not services.close(): the embedder is the run's, shared with the other suites.
      await services.db.end();
      await pg.stop();
    }
  },
};
