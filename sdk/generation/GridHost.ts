import type { Grid } from './GenerationEvent.ts';
import type { GuidedStreams } from './GuidedStreams.ts';
import type { Distribution } from './speculative/Distribution.ts';

/** What a parallel grid decoder (Jacobi, ZipAR) needs from the generation loop. */
export interface GridHost {
  /** The streams of this image span (both while guidance is on: fed the same tokens, rolled back the same). */
  streams(): GuidedStreams;
  /** The target distribution from one row of logits: the grid processors (CFG, mask, user's) and warpers. */
  distribution(cond: Float32Array, uncond: Float32Array | undefined, prefix: readonly number[]): Distribution;
  /** The forced id at grid position `p` (EOL, EOI), or null. */
  forced(p: number, grid: Grid): number | null;
  /** Takes one token as decided (grammar, events, image decoding), exactly as the sequential loop does. */
  accept(token: number): Promise<void>;
}
