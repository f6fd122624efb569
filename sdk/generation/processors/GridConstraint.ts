import type { Candidates } from '../Candidates.ts';
import type { Grid } from '../GenerationEvent.ts';
import type { GrammarIds } from '../GrammarIds.ts';
import type { LogitsContext, LogitsProcessor } from '../LogitsProcessor.ts';
import type { CfgCombine } from './CfgCombine.ts';

/**
 * The grid after IMG. `p` = position after IMG (1 = first visual token): p = H·(W+1) → EOI;
 * p % (W+1) = 0 → EOL; otherwise only visual ids are allowed.
 *
 * `forced` is what `ImageGrammar` asks; `process` is the grid-step processor the loop runs: CFG then the
 * visual-only mask, fused. Only the ids the mask keeps are computed, and they are written straight into
 * the candidate buffer as one dense range [visualOffset, vocabSize) (no −∞ fill, no gather pass, no id
 * writes): at Emu3.5's 282,926 ids this is the image hot path, so it stays one loop.
 */
export class GridConstraint implements LogitsProcessor {
  readonly #ids: GrammarIds;
  readonly #cfg: CfgCombine | undefined;

  /** `cfg` = the guidance to apply (omitted: conditional scores only, as at cfg = 1). */
  constructor(ids: GrammarIds, cfg?: CfgCombine) {
    this.#ids = ids;
    this.#cfg = cfg;
  }

  /** The forced id at `p`, or null where a visual token is sampled. */
  forced(p: number, grid: Grid): number | null {
    if (p === grid.rows * (grid.cols + 1)) return this.#ids.eoi;
    if (p % (grid.cols + 1) === 0) return this.#ids.eol;
    return null;
  }

  process(c: Candidates, ctx: LogitsContext): void {
    const start = this.#ids.visualOffset;
    const end = this.#ids.vocabSize;
    if (this.#cfg) this.#cfg.process(c.logits, ctx.cond, ctx.uncond!, start, end, 0);
    else c.logits.set(ctx.cond.subarray(start, end));
    c.setDense(start, end - start);
  }
}
