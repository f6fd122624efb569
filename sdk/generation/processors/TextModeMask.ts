import type { LogitsProcessor } from '../LogitsProcessor.ts';

/** Text mode: visual ids (≥ visualOffset) are −∞; everything else, BOI and EOS included, stays allowed. */
export class TextModeMask implements LogitsProcessor {
  constructor(readonly visualOffset: number) {}

  process(scores: Float32Array): void {
    scores.fill(-Infinity, this.visualOffset);
  }
}
