import type { GuidedStreams } from './GuidedStreams.ts';

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
  /**
   * Appends `ids` in one forward pass and returns the logits after every one of them (row i predicts
   * the token after `ids[i]`). Parallel grid decoding needs it, with `truncate`. `offsets`: position
   * ids relative to the cache length (default 0, 1, …).
   */
  feedAll?(ids: readonly number[], signal?: AbortSignal, offsets?: readonly number[]): Promise<Float32Array[]>;
  /**
   * True when attention is masked by position id, not only by slot (a per-query mask): ids may then be
   * fed out of order at `offsets` and each still attends only to positions before it (ZipAR needs it).
   */
  readonly positionMask?: boolean;
  /** Drops the cache back to its first `length` positions, exactly as if only those had been fed. */
  truncate?(length: number): void;
  /**
   * Both guidance streams as one batch-2 forward pass (this = conditional), while they take the same
   * tokens; undefined where the decoder cannot batch them. Same logits as two separate passes.
   */
  pairWith?(uncond: CausalLm): GuidedStreams | undefined;
}
