import type { Grid } from './GenerationEvent.ts';
import type { GuidedStreams } from './GuidedStreams.ts';

/** What a parallel grid decoder (Jacobi, ZipAR) needs from the generation loop. */
export interface GridHost {
  /** The streams of this image span (both while guidance is on: fed the same tokens, rolled back the same). */
  streams(): GuidedStreams;
  /**
   * The code at grid `position` from one row of logits: the grid processors (CFG, mask, user's), warpers and
   * the position's fixed noise (`GridNoise`), exactly as sequential decoding draws it there. A function of the
   * row: the same row gives the same code, which is what verifies a draft.
   */
  draw(cond: Float32Array, uncond: Float32Array | undefined, prefix: readonly number[], position: number): number;
  /** The forced id at grid position `p` (EOL, EOI), or null. */
  forced(p: number, grid: Grid): number | null;
  /** Takes one token as decided (grammar, events, image decoding), exactly as the sequential loop does. */
  accept(token: number): Promise<void>;
}
