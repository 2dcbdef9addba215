// web_search behind a provider interface. Off unless WEB_SEARCH_URL names a JSON search
// endpoint (SearXNG's `/search?q=…&format=json` shape); the registry leaves it out otherwise,
// so the model is never offered a tool that cannot work.
import { z } from 'zod';
import type { ToolDefinition } from './types.js';

export interface WebSearchProvider {
  search(query: string, limit: number, signal?: AbortSignal): Promise<Array<{ title: string; url: string; snippet: string }>>;
}

/** A SearXNG-compatible JSON endpoint. */
export function searxngProvider(baseUrl: string): WebSearchProvider {
  return {
    async search(query, limit, signal) {
      const url = new URL(baseUrl);
      url.searchParams.set('q', query);
      url.searchParams.set('format', 'json');
      const res = await fetch(url, { signal: signal ?? AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`web search failed: HTTP ${res.status}`);
      const body = (await res.json()) as { results?: Array<{ title?: string; url?: string; content?: string }> };
      return (body.results ?? []).slice(0, limit).map((r) => ({ title: r.title ?? '', url: r.url ?? '', snippet: r.content ?? '' }));
    },
  };
}

export const webSearchParameters = z.object({
  query: z.string().min(2).max(500).describe('The web search query'),
  limit: z.number().int().min(1).max(10).optional(),
});

export function webSearchTool(provider: WebSearchProvider): ToolDefinition<typeof webSearchParameters> {
  return {
    name: 'web_search',
    description: 'Search the public web. Returns titles, URLs and snippets.',
    parameters: webSearchParameters,
    kind: 'read',
    // Five minutes: the web moves, but not between two identical searches of one conversation;
    // a time-sensitive query ("news today") is never cached at all.
    cache: { ttlSeconds: 300 },
    async run(args, ctx) {
      const results = await provider.search(args.query, args.limit ?? 5, ctx.signal);
      return {
        content: results,
        summary: `${results.length} web results for "${args.query.slice(0, 80)}"`,
        provenance: results.map((r) => ({ type: 'tool_output' as const, tool: 'web_search', callId: '', excerpt: `${r.title} ${r.url} ${r.snippet}`.slice(0, 600) })),
      };
    },
  };
}
