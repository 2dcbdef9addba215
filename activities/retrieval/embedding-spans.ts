// An `embeddings {model}` span per embed call, in OpenTelemetry's GenAI conventions
// (infra/spans.ts): the model, how many texts, the vectors' dimensions. Never the texts.
import { GATEHOUSE, GEN_AI, inSpan } from '../../infra/spans.js';
import type { EmbeddingPurpose } from './embedder.js';

export function inEmbeddingsSpan<T>(model: { name: string; provider: string; dimensions: number }, texts: string[], purpose: EmbeddingPurpose | undefined, fn: () => Promise<T>): Promise<T> {
  return inSpan(
    `embeddings ${model.name}`,
    {
      [GEN_AI.operation]: 'embeddings',
      [GEN_AI.provider]: model.provider,
      [GEN_AI.requestModel]: model.name,
      [GEN_AI.embeddingsDimensions]: model.dimensions,
      [GATEHOUSE.embeddingsInputs]: texts.length,
      'gatehouse.embeddings.purpose': purpose,
    },
    fn,
  );
}
