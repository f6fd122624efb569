import { InputError } from '../errors.ts';
import type { CausalLm } from './CausalLm.ts';

/** Every fed position's logits, per stream (`uncond` while guidance is on). */
export interface StreamRows {
  cond: Float32Array[];
  uncond: Float32Array[] | undefined;
}

/**
 * The guidance streams during an image span, where both take the same tokens (BOI..EOI): fed,
 * rolled back and closed together. `separateStreams` runs one forward pass per stream; a decoder
 * that can batch (`CausalLm.pairWith`) runs both as one batch-2 pass.
 */
export interface GuidedStreams {
  /** Forward passes a feed of `n` ids costs: 2 for two separate streams, 1 for one batched pass. */
  passesFor(n: number): number;
  /**
   * Feeds `ids` to every stream in one feed and returns the logits after every one of them. `offsets`:
   * position ids relative to each stream's length (default 0, 1, …), for ids fed out of order.
   */
  feedAll(ids: readonly number[], signal?: AbortSignal, offsets?: readonly number[]): Promise<StreamRows>;
  /** Drops the last `n` fed positions of every stream, exactly as if they had never been fed. */
  rollback(n: number): void;
  /** Ends the span: each stream's own cache holds what was fed. Idempotent. */
  close(): void;
}

/** The streams as they are: one forward pass each (the unconditional one skipped without guidance). */
export function separateStreams(cond: CausalLm, uncond: CausalLm | undefined): GuidedStreams {
  const all = async (lm: CausalLm, ids: readonly number[], signal?: AbortSignal, offsets?: readonly number[]): Promise<Float32Array[]> => {
    if (ids.length === 1 && !offsets) return [await lm.feed(ids, signal)];
    if (!lm.feedAll) throw new InputError('input_invalid', "this decoder cannot return every position's logits (feedAll)");
    return lm.feedAll(ids, signal, offsets);
  };
  return {
    passesFor: () => (uncond ? 2 : 1),
    async feedAll(ids, signal, offsets) {
      const u = uncond ? await all(uncond, ids, signal, offsets) : undefined;
      return { cond: await all(cond, ids, signal, offsets), uncond: u };
    },
    rollback(n) {
      for (const lm of uncond ? [cond, uncond] : [cond]) {
        if (!lm.truncate) throw new InputError('input_invalid', 'this decoder cannot roll its cache back (truncate)');
        lm.truncate(lm.length - n);
      }
    },
    close() {},
  };
}
