// What the offline model's parts share.

/** Turns texts into unit vectors; the local model uses the configured embedder when it has one. */
export type EmbedTexts = (texts: string[]) => Promise<Float32Array[]>;
