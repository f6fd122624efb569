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

  /** One pass over `ids`, the logits after each (parallel grid decoding's verification). */
  async feedAll(ids: readonly number[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (signal?.aborted) throw new Error('fed after abort');
    await new Promise((r) => setImmediate(r));
    this.forwardPasses++;
    this.calls.push([...ids]);
    const rows: Float32Array[] = [];
    for (const id of ids) {
      this.fed.push(id);
      rows.push(this.logitsFor(this.fed));
    }
    return rows;
  }

  truncate(length: number): void {
    if (length > this.fed.length) throw new Error(`truncate to ${length} > ${this.fed.length}`);
    this.fed.length = length;
  }
}

/** Scores with one preferred id (value `hi`) and the rest `lo`. */
export function peaked(vocab: number, id: number, hi = 10, lo = 0): Float32Array {
  const a = new Float32Array(vocab).fill(lo);
  a[id] = hi;
  return a;
}
