import type { Candidates } from './Candidates.ts';

/** The grammar mode a sampled step is in (forced steps run no processors). */
export type SampleMode = 'text' | 'header' | 'grid';

/**
 * What a processor may read at one sampled step. The loop keeps one instance per generation and
 * rewrites it in place (no per-step allocation), so a processor must not keep a reference to it.
 */
export interface LogitsContext {
  mode: SampleMode;
  /** Conditional logits for the next position, full vocabulary. Read-only: it may be the model's output buffer. */
  cond: Float32Array;
  /** Unconditional logits for the same position when this step's input went to that stream (image spans, CFG ≠ 1); else undefined. Read-only. */
  uncond: Float32Array | undefined;
  /** Header steps: the ids the image header allows here. Empty in the other modes. */
  allow: readonly number[];
  /** Every id generated so far in this generation, in order (prompt not included). */
  tokens: readonly number[];
}

/**
 * One job on the next-token scores (a mask, CFG, a penalty), run by the loop for every sampled step.
 *
 * Why it works on `Candidates` and not on a full-vocabulary score array: a mask is expressed as which ids
 * enter the candidate set, so masked ids are never written as −∞ and never scanned again. The loop's
 * built-in processors come first for each mode and *build* the set from `ctx.cond` (and `ctx.uncond`):
 * text = `TextModeMask`, header = `HeaderConstraint`, grid = `GridConstraint` (CFG + visual mask written
 * straight into the buffer as one dense range, the image hot path). User processors
 * (`GenerationLoopParams.processors`) run after them, on the built set, then the warpers and the sampler.
 *
 * A processor after the first rewrites `c.logits[0..c.count)` in place (ids via `c.idAt(i)`); setting a
 * score to −∞ removes that candidate from the draw. It must not change `count` unless it compacts
 * ids and logits together (call `c.materialize()` first).
 */
export interface LogitsProcessor {
  process(c: Candidates, ctx: LogitsContext): void;
}
