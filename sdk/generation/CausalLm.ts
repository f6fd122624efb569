/**
 * A causal LM with its own KV cache, as the generation loop sees it. `DecoderSession` implements it on
 * ONNX; tests and benches implement it with scripted logits.
 */
export interface CausalLm {
  /** Number of tokens in the cache (the next position id). */
  readonly length: number;
  /** Forward passes run since creation. */
  readonly forwardPasses: number;
  /** Appends `ids` to the cache and returns the logits after the last one (length = vocab size). */
  feed(ids: readonly number[], signal?: AbortSignal): Promise<Float32Array>;
}
