import type { CausalLm } from '../../../sdk/generation/CausalLm.ts';

/**
 * A CausalLm whose logits are a function of the whole history: records what it was fed and how many
 * forward passes ran. `logitsFor(history)` returns the scores for the next token.
 */
export class ScriptedLm implements CausalLm {
  readonly fed: number[] = [];
  readonly calls: number[][] = [];
  forwardPasses = 0;
  constructor(
    readonly vocabSize: number,
    readonly logitsFor: (history: readonly number[]) => Float32Array,
  ) {}

  get length(): number {
    return this.fed.length;
  }

  async feed(ids: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    if (signal?.aborted) throw new Error('fed after abort');
    await new Promise((r) => setImmediate(r));
    this.forwardPasses++;
    this.calls.push([...ids]);
    this.fed.push(...ids);
    return this.logitsFor(this.fed);
  }
}

/** Scores with one preferred id (value `hi`) and the rest `lo`. */
export function peaked(vocab: number, id: number, hi = 10, lo = 0): Float32Array {
  const a = new Float32Array(vocab).fill(lo);
  a[id] = hi;
  return a;
}
