// Term, vector and hybrid retrieval in Postgres. Every query is scoped to one collection,
// and a collection belongs to one tenant; chunk rows are re-checked against the tenant
// when passages are loaded, as a second lock on the same door.
import type { Db, DbCapabilities } from '../../infra/db/pool.js';
import { toVectorParam } from '../../infra/db/pool.js';
import type { Embedder } from './embeddings.js';
import { reciprocalRankFusion } from './fusion.js';
import type { Passage, RetrievalOptions, RetrievalResult } from './types.js';

/** Okapi BM25 parameters (Robertson & Zaragoza): term-frequency saturation and length normalisation. */
export const BM25 = { k1: 1.2, b: 0.75 };

export interface ScoredId {
  id: string;
  score: number;
}

export async function findCollectionId(db: Db, tenantId: string, name: string): Promise<number | undefined> {
  const { rows } = await db.query<{ id: number }>('SELECT id FROM collections WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  return rows[0]?.id;
}

/**
 * BM25 over the chunk_terms inverted index: IDF from term_stats, length normalisation from
 * each posting's document length and the collection's average, all kept current by ingestion.
 * The query goes through the same `english` text-search configuration as the chunks.
 */
export async function searchBm25(
  db: Db,
  q: { collectionId: number; query: string; limit: number; filter?: Record<string, unknown> },
): Promise<ScoredId[]> {
  const filterJoin = q.filter ? 'JOIN chunks c ON c.id = p.chunk_id AND c.metadata @> $7::jsonb' : '';
  // tf·(k1+1) / (tf + k1·(1−b) + k1·b·dl/avgdl), with (k1+1) folded into the term weight.
  const params: unknown[] = [q.collectionId, q.query, q.limit, BM25.k1 + 1, BM25.k1 * (1 - BM25.b), BM25.k1 * BM25.b];
  if (q.filter) params.push(JSON.stringify(q.filter));
  // The CTEs are MATERIALIZED so each term's IDF is computed once, not once per posting, and
  // all arithmetic is float8: per-posting numeric math cost more than reading the postings.
  const { rows } = await db.query<{ id: string; score: number }>(
    `WITH terms AS (
       SELECT DISTINCT lexeme AS term FROM unnest(to_tsvector('english', $2))
     ), corpus AS MATERIALIZED (
       SELECT chunk_count::float8 AS n, greatest(total_terms::float8 / greatest(chunk_count, 1), 1) AS avgdl
       FROM collections WHERE id = $1
     ), weights AS MATERIALIZED (
       SELECT s.term, ln(1 + (corpus.n - s.df + 0.5::float8) / (s.df + 0.5::float8)) * $4::float8 AS w
       FROM terms JOIN term_stats s ON s.collection_id = $1 AND s.term = terms.term CROSS JOIN corpus
     )
     SELECT p.chunk_id::text AS id,
            sum(w.w * p.tf / (p.tf + $5::float8 + $6::float8 * p.dl / corpus.avgdl)) AS score
     FROM weights w
     JOIN chunk_terms p ON p.collection_id = $1 AND p.term = w.term
     ${filterJoin}
     CROSS JOIN corpus
     GROUP BY p.chunk_id
     ORDER BY score DESC, p.chunk_id
     LIMIT $3`,
    params,
  );
  return rows;
}

/**
 * Nearest chunks by cosine distance through the HNSW index. With pgvector ≥ 0.8 an iterative
 * scan keeps reading the index until the collection/metadata filter has yielded `limit` rows;
 * older pgvector gets an exact scan when the index scan comes back short.
 */
export async function searchVector(
  db: Db,
  caps: DbCapabilities,
  q: {
    collectionId: number;
    embedding: ArrayLike<number>;
    limit: number;
    efSearch: number;
    filter?: Record<string, unknown>;
    /** Exact scan (no index): the ground truth for recall measurements and the short-result fallback. */
    exact?: boolean;
  },
): Promise<ScoredId[]> {
  const vector = toVectorParam(q.embedding);
  const params: unknown[] = [vector, q.collectionId, q.limit];
  const filter = q.filter ? 'AND metadata @> $4::jsonb' : '';
  if (q.filter) params.push(JSON.stringify(q.filter));

  if (q.exact) return exactVectorScan(db, params, filter);

  const client = await db.connect();
  let rows: ScoredId[];
  try {
    await client.query('BEGIN');
    // set_config(..., true) is SET LOCAL: it ends with the transaction and never leaks into
    // another request's session (PGlite serves every connection from one session).
    await client.query(`SELECT set_config('hnsw.ef_search', $1, true)`, [String(q.efSearch)]);
    if (caps.iterativeScan) await client.query(`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
    const res = await client.query<{ id: string; distance: number }>(
      `WITH nearest AS MATERIALIZED (
         SELECT id, embedding <=> $1::vector AS distance
         FROM chunks WHERE collection_id = $2 ${filter}
         ORDER BY embedding <=> $1::vector LIMIT $3
       )
       SELECT id::text, distance::float8 FROM nearest ORDER BY distance, id`,
      params,
    );
    await client.query('COMMIT');
    rows = res.rows.map((r) => ({ id: r.id, score: 1 - r.distance }));
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  if (rows.length < q.limit && !caps.iterativeScan) {
    const exact = await exactVectorScan(db, params, filter);
    if (exact.length > rows.length) return exact;
  }
  return rows;
}

async function exactVectorScan(db: Db, params: unknown[], filter: string): Promise<ScoredId[]> {
  // Ordering a materialised CTE cannot use the HNSW index, so this is a true exact scan.
  const { rows } = await db.query<{ id: string; distance: number }>(
    `WITH candidates AS MATERIALIZED (
       SELECT id, embedding FROM chunks WHERE collection_id = $2 ${filter}
     )
     SELECT id::text, (embedding <=> $1::vector)::float8 AS distance
     FROM candidates ORDER BY distance, id LIMIT $3`,
    params,
  );
  return rows.map((r) => ({ id: r.id, score: 1 - r.distance }));
}

/** Cosine similarity of given chunks to the query vector: the reranking step of sequential mode. */
export async function scoreByVector(db: Db, ids: string[], embedding: ArrayLike<number>): Promise<ScoredId[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ id: string; distance: number }>(
    `SELECT id::text, (embedding <=> $1::vector)::float8 AS distance
     FROM chunks WHERE id = ANY($2::bigint[]) ORDER BY distance, id`,
    [toVectorParam(embedding), ids],
  );
  return rows.map((r) => ({ id: r.id, score: 1 - r.distance }));
}

export async function loadPassages(db: Db, tenantId: string, ids: string[]): Promise<Map<string, Omit<Passage, 'score' | 'ranks'>>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{
    id: string;
    document_id: string;
    title: string | null;
    heading: string;
    text: string;
    source: string | null;
    metadata: Record<string, unknown>;
  }>(
    `SELECT c.id::text, c.document_id, d.title, c.heading, c.text, d.source, c.metadata
     FROM chunks c JOIN documents d ON d.collection_id = c.collection_id AND d.id = c.document_id
     WHERE c.id = ANY($1::bigint[]) AND c.tenant_id = $2`,
    [ids, tenantId],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      { chunkId: r.id, documentId: r.document_id, title: r.title, heading: r.heading, text: r.text, source: r.source, metadata: r.metadata },
    ]),
  );
}

export interface RetrievalDeps {
  db: Db;
  caps: DbCapabilities;
  embedder: Embedder;
}

/**
 * Hybrid retrieval. `ensemble`: BM25 and vector rankings fused by RRF. `sequential`: BM25
 * candidates reranked by vector similarity. `bm25` / `vector`: one retriever alone.
 */
export async function retrieveHybrid(
  deps: RetrievalDeps,
  req: { tenantId: string; collection: string; query: string } & RetrievalOptions,
): Promise<RetrievalResult> {
  const started = performance.now();
  const timings = { embedMs: 0, bm25Ms: 0, vectorMs: 0, totalMs: 0 };
  const empty = (): RetrievalResult => ({ passages: [], mode: req.mode, timings, embedder: deps.embedder.id });
  const collectionId = await findCollectionId(deps.db, req.tenantId, req.collection);
  if (collectionId === undefined) return empty();

  const needsVector = req.mode !== 'bm25';
  const needsTerms = req.mode !== 'vector';
  const candidates = Math.max(req.candidates, req.topK);

  // Term search does not need the query embedding: start it while the embedder works.
  const bm25Search = needsTerms
    ? timed(timings, 'bm25Ms', () => searchBm25(deps.db, { collectionId, query: req.query, limit: candidates, filter: req.filter }))
    : Promise.resolve([]);
  bm25Search.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  const embedding = needsVector
    ? await timed(timings, 'embedMs', async () => (await deps.embedder.embed([req.query], 'query'))[0]!)
    : undefined;

  let ranked: Array<{ id: string; score: number; ranks: Passage['ranks'] }>;
  let fallback: RetrievalResult['fallback'];
  const vectorSearch = () =>
    timed(timings, 'vectorMs', () =>
      searchVector(deps.db, deps.caps, {
        collectionId,
        embedding: embedding!,
        limit: req.mode === 'vector' ? req.topK : candidates,
        efSearch: req.efSearch,
        filter: req.filter,
      }),
    );

  switch (req.mode) {
    case 'bm25':
      ranked = (await bm25Search).slice(0, req.topK).map((r, i) => ({ ...r, ranks: { bm25: i + 1 } }));
      break;
    case 'vector':
      ranked = (await vectorSearch()).map((r, i) => ({ ...r, ranks: { vector: i + 1 } }));
      break;
    case 'ensemble': {
      // The two retrievers run concurrently, on separate connections.
      const [bm25, dense] = await Promise.all([bm25Search, vectorSearch()]);
      ranked = reciprocalRankFusion({ bm25, vector: dense }, req.rrfK, req.topK).map((f) => ({
        id: f.id,
        score: f.score,
        ranks: f.ranks,
      }));
      break;
    }
    case 'sequential': {
      const bm25 = await bm25Search;
      if (bm25.length === 0) {
        fallback = 'vector';
        ranked = (await vectorSearch()).slice(0, req.topK).map((r, i) => ({ ...r, ranks: { vector: i + 1 } }));
        break;
      }
      const bm25Rank = new Map(bm25.map((r, i) => [r.id, i + 1]));
      const reranked = await timed(timings, 'vectorMs', () => scoreByVector(deps.db, bm25.map((r) => r.id), embedding!));
      if (req.rerank === 'similarity') {
        ranked = reranked.slice(0, req.topK).map((r, i) => ({ ...r, ranks: { bm25: bm25Rank.get(r.id), vector: i + 1 } }));
      } else {
        // The similarity order alone throws away what the first stage knew; fusing the two
        // ranks of the candidates keeps both (and measured better: bench/results/quality.md).
        ranked = reciprocalRankFusion({ bm25, vector: reranked }, req.rrfK, req.topK).map((f) => ({ id: f.id, score: f.score, ranks: f.ranks }));
      }
      break;
    }
  }

  const loaded = await loadPassages(deps.db, req.tenantId, ranked.map((r) => r.id));
  const passages: Passage[] = [];
  for (const r of ranked) {
    const p = loaded.get(r.id);
    if (p) passages.push({ ...p, score: r.score, ranks: r.ranks });
  }
  timings.totalMs = performance.now() - started;
  return { passages, mode: req.mode, fallback, timings, embedder: deps.embedder.id };
}

async function timed<T>(timings: Record<string, number>, key: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[key] = (timings[key] ?? 0) + performance.now() - t0;
  }
}
