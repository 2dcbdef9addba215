// The providers the gateway dispatches to, one adapter module each, keyed by ModelSpec.provider.
import type { ModelProviderName } from '../../../infra/config.js';
import { anthropicProvider } from './anthropic.js';
import { geminiProvider } from './gemini.js';
import { localProvider } from './local.js';
import { openAiProvider } from './openai.js';
import type { ModelProvider } from './provider.js';

export type { ModelProvider, ModelReply, TokenCounts } from './provider.js';
export { estimatePromptTokens, MalformedResponseError, StreamCutOffError } from './provider.js';

export interface ProviderOptions {
  /** Lets the offline local model rank sentences by meaning, not only by shared words. */
  embedQueries?: (texts: string[]) => Promise<Float32Array[]>;
}

export function createProviders(opts: ProviderOptions): Record<ModelProviderName, ModelProvider> {
  return {
    openai: openAiProvider(),
    anthropic: anthropicProvider(),
    gemini: geminiProvider(),
    local: localProvider(opts.embedQueries),
  } satisfies Record<ModelProviderName, ModelProvider>;
}
