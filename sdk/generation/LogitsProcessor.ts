/** Rewrites next-token scores in place (masks, CFG). One job per processor. */
export interface LogitsProcessor {
  process(scores: Float32Array): void;
}
