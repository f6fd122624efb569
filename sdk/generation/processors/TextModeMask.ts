import type { Candidates } from '../Candidates.ts';
import type { LogitsContext, LogitsProcessor } from '../LogitsProcessor.ts';

/**
 * Text mode: visual ids (≥ visualOffset) are masked; everything else, BOI and EOS included, stays allowed.
 * Builds the candidate set from the finite conditional scores of [0, visualOffset) in one pass (the mask
 * is the range left out, never written).
 */
export class TextModeMask implements LogitsProcessor {
  constructor(readonly visualOffset: number) {}

  process(c: Candidates, ctx: LogitsContext): void {
    c.gather(ctx.cond, 0, this.visualOffset);
  }
}
