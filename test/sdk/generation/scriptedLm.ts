import type { CausalLm } from '../../../sdk/generation/CausalLm.ts';

/**
 * A CausalLm whose logits are a function of the whole history: records what it was fed and how many
 * forward passes ran. `logitsFor(history)` returns the scores for the next token.
 */
export class ScriptedLm implements CausalLm {
  readonly fed: number[] = [];
  /** The position id of every fed slot (slot order). */
  readonly positions: number[] = [];
  readonly calls: number[][] = [];
  forwardPasses = 0;
  /**
   * `positionMask`: ids may be fed out of order (`feedAll` offsets); each row's history is then the fed
   * ids at positions ≤ its own, in position order: what a decoder with `io.keyPositions` attends to.
   */
  constructor(
    readonly vocabSize: number,
    readonly logitsFor: (history: readonly number[], positions?: readonly number[]) => Float32Array,
    readonly positionMask = false,
  ) {}

  get length(): number {
    return this.fed.length;
  }

  async feed(ids: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    if (signal?.aborted) throw new Error('fed after abort');
    await new Promise((r) => setImmediate(r));
    this.forwardPasses++;
    this.calls.push([...ids]);
    for (const id of ids) {
      this.positions.push(this.fed.length);
      this.fed.push(id);
    }
    if (!this.positionMask) return this.logitsFor(this.fed);
    return this.#masked(this.positions.at(-1)!);
  }

  /** Logits over the fed ids at positions ≤ `position`, in position order, with those positions. */
  #masked(position: number): Float32Array {
    const seen = this.positions
      .map((p, slot) => ({ p, id: this.fed[slot]! }))
      .filter((x) => x.p <= position)
      .sort((a, b) => a.p - b.p);
    return this.logitsFor(
      seen.map((x) => x.id),
      seen.map((x) => x.p),
    );
  }

  /** One pass over `ids`, the logits after each (parallel grid decoding's verification). */
  async feedAll(ids: readonly number[], signal?: AbortSignal, offsets?: readonly number[]): Promise<Float32Array[]> {
    if (signal?.aborted) throw new Error('fed after abort');
    await new Promise((r) => setImmediate(r));
    this.forwardPasses++;
    this.calls.push([...ids]);
    const base = this.fed.length;
    const rows: Float32Array[] = [];
    ids.forEach((id, i) => {
      const position = base + (offsets ? offsets[i]! : i);
      this.positions.push(position);
      this.fed.push(id);
      // Without a position mask the history is the slots so far (the leak ZipAR needs the mask against).
      rows.push(this.positionMask ? this.#masked(position) : this.logitsFor([...this.fed]));
    });
    return rows;
  }

  truncate(length: number): void {
    if (length > this.fed.length) throw new Error(`truncate to ${length} > ${this.fed.length}`);
    this.fed.length = length;
    this.positions.length = length;
  }
}

/** Scores with one preferred id (value `hi`) and the rest `lo`. */
export function peaked(vocab: number, id: number, hi = 10, lo = 0): Float32Array {
  const a = new Float32Array(vocab).fill(lo);
  a[id] = hi;
  return a;
}
