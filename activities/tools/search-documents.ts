// search_documents: hybrid retrieval over the tenant's collection (the spine's retrieveHybrid).
// Each passage it returns is evidence a later write action may cite as its provenance.
import { z } from 'zod';
import { cachedRetrieval } from '../cache/retrieval.js';
import { retrieveHybrid } from '../retrieval/search.js';
import type { ToolDefinition } from './types.js';

export const searchDocumentsParameters = z.object({
  query: z.string().min(2).max(1000).describe('What to look for, as a standalone question or keywords'),
  topK: z.number().int().min(1).max(20).optional().describe('How many passages to return (default 5)'),
});

export const searchDocumentsTool: ToolDefinition<typeof searchDocumentsParameters> = {
  name: 'search_documents',
  description: "Search the user's documents (manuals, policies, notes). Returns the most relevant passages with their ids.",
  parameters: searchDocumentsParameters,
  kind: 'read',
  // No result cache of its own: the search reads through the retrieval layer, whose entries are
  // keyed by the collection's corpus version, so an ingestion retires them at once; a TTL-only
  // tool entry would keep serving passages that are gone.
  async run(args, ctx) {
    const search = { tenantId: ctx.tenantId, collection: ctx.collection, query: args.query, ...ctx.retrieval, topK: args.topK ?? 5 };
    const run = () => retrieveHybrid({ db: ctx.db, caps: ctx.caps, embedder: ctx.embedder }, search);
    const result = ctx.cache?.settings.layers.retrieval ? await cachedRetrieval(ctx.db, ctx.cache, search, run) : await run();
    const versions = await documentVersions(ctx, result.passages.map((p) => p.documentId));
    return {
      content: result.passages.map((p) => ({ chunkId: p.chunkId, documentId: p.documentId, title: p.title, heading: p.heading, text: p.text })),
      summary: `${result.passages.length} passages (${result.mode}) for "${args.query.slice(0, 80)}"`,
      provenance: result.passages.map((p) => ({
        type: 'document_chunk' as const,
        chunkId: p.chunkId,
        documentId: p.documentId,
        version: versions.get(p.documentId) ?? 1,
        score: Math.round(p.score * 1e4) / 1e4,
        excerpt: p.text.slice(0, 600),
      })),
    };
  },
};

async function documentVersions(ctx: Parameters<NonNullable<typeof searchDocumentsTool.run>>[1], ids: string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const { rows } = await ctx.db.query<{ id: string; version: number }>(
    `SELECT d.id, d.version FROM documents d JOIN collections c ON c.id = d.collection_id
     WHERE c.tenant_id = $1 AND c.name = $2 AND d.id = ANY($3)`,
    [ctx.tenantId, ctx.collection, ids],
  );
  return new Map(rows.map((r) => [r.id, r.version]));
}
