import type { Grid } from '../GenerationEvent.ts';
import type { GridHost } from '../GridHost.ts';

export const DEFAULT_ROW_WINDOW = 4;

/**
 * Spatial-locality parallel decoding of one image grid (after ZipAR, He et al. 2024): row r+1 starts
 * once row r has `window` tokens, so every active row gains a token per forward pass, and an H×W grid
 * takes about W + window·(H−1) passes instead of H·(W+1).
 *
 * How a row starts: its first token is predicted from the EOL that ends the row above, and EOL is a
 * forced id, so it is fed early, at its own raster position, while the row above is still being drawn.
 *
 * Raster order is kept in attention: every id is fed at its raster position and the decoder masks keys
 * by position (`CausalLm.positionMask`), so a token sees exactly the tokens before it in raster order
 * that exist when it is fed. What it cannot see is the part of the row above still to be drawn: that is
 * the approximation, and why ZipAR is not exact in distribution (Jacobi is). Ids within a pass go in
 * raster order. Tokens are handed to the loop (`accept`) in raster order, so grammar, events and the
 * rows of `image.progress` stay in order; EOL and EOI stay forced; the header is never touched.
 */
export class ZiparGrid {
  readonly #window: number;

  constructor(window: number) {
    this.#window = window;
  }

  /**
   * Decodes every grid position. `last` = the token before position 1 (IMG), not yet fed. Returns the
   * number of ids each forward pass fed. On return the cache holds positions 0…N−1 (N = EOI, accepted
   * but unfed, as sequential decoding leaves it).
   */
  async decode(host: GridHost, grid: Grid, last: number, prefix: readonly number[], signal: AbortSignal): Promise<number[]> {
    const stride = grid.cols + 1;
    const n = grid.rows * stride;
    const decided: (number | undefined)[] = new Array(n + 1);
    const fed = new Uint8Array(n + 1);
    decided[0] = last;
    for (let p = 1; p <= n; p++) decided[p] = host.forced(p, grid) ?? undefined;
    /** Codes decided per row (left to right, so also the next column to draw). */
    const drawn = new Int32Array(grid.rows);
    let fedCount = 0;
    let nextAccept = 1;
    const passes: number[] = [];
    const streams = host.streams();

    while (nextAccept <= n) {
      const batch = this.#toFeed(grid, decided, fed, drawn, n);
      const offsets = batch.map((p) => p - fedCount);
      const rows = await streams.feedAll(batch.map((p) => decided[p]!), signal, offsets);
      passes.push(batch.length);
      fedCount += batch.length;
      batch.forEach((p, i) => {
        fed[p] = 1;
        const target = p + 1;
        if (target > n || decided[target] !== undefined) return;
        decided[target] = host.draw(rows.cond[i]!, rows.uncond?.[i], prefix, target);
        drawn[Math.floor((target - 1) / stride)]!++;
      });
      for (; nextAccept <= n && decided[nextAccept] !== undefined; nextAccept++) await host.accept(decided[nextAccept]!);
    }
    // The last row's final code predicts EOI, which is forced: sequential decoding runs that pass too.
    const rest = Array.from({ length: n }, (_, p) => p).filter((p) => !fed[p]);
    if (rest.length > 0) {
      await streams.feedAll(rest.map((p) => decided[p]!), signal, rest.map((p) => p - fedCount));
      passes.push(rest.length);
    }
    return passes;
  }

  /**
   * Positions to feed this pass, in raster order: IMG and every decided code not yet fed, plus the EOL
   * ending each row whose next row may start (the row has `window` codes, or is complete). Never EOI.
   */
  #toFeed(grid: Grid, decided: readonly (number | undefined)[], fed: Uint8Array, drawn: Int32Array, n: number): number[] {
    const stride = grid.cols + 1;
    const out: number[] = [];
    for (let p = 0; p < n; p++) {
      if (fed[p] || decided[p] === undefined) continue;
      if (p > 0 && p % stride === 0 && drawn[p / stride - 1]! < Math.min(this.#window, grid.cols)) continue;
      out.push(p);
    }
    return out;
  }
}
