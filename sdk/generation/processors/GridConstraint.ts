import type { Grid } from '../GenerationEvent.ts';
import type { GrammarIds } from '../GrammarIds.ts';

/**
 * The grid after IMG. `p` = position after IMG (1 = first visual token): p = H·(W+1) → EOI;
 * p % (W+1) = 0 → EOL; otherwise only visual ids are allowed.
 */
export class GridConstraint {
  readonly #ids: GrammarIds;

  constructor(ids: GrammarIds) {
    this.#ids = ids;
  }

  /** The forced id at `p`, or null where a visual token is sampled. */
  forced(p: number, grid: Grid): number | null {
    if (p === grid.rows * (grid.cols + 1)) return this.#ids.eoi;
    if (p % (grid.cols + 1) === 0) return this.#ids.eol;
    return null;
  }

  /** Visual-only mask: ids below the visual offset become −∞. */
  process(scores: Float32Array): void {
    scores.fill(-Infinity, 0, this.#ids.visualOffset);
  }
}
