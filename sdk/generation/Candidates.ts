/**
 * The sampling working set: ids and scores of the tokens still allowed. Warpers shrink it in place;
 * buffers are allocated once per vocabulary size so the hot path never allocates. A dense set (ids
 * `denseStart + i`) skips writing ids until something compacts it.
 */
export class Candidates {
  readonly ids: Int32Array;
  readonly logits: Float32Array;
  /** Scratch for selection and softmax; same capacity. */
  readonly scratch: Float32Array;
  readonly scratchIds: Int32Array;
  count = 0;
  /** ≥ 0: ids are implicit, `ids[i] = denseStart + i`; −1: `ids` holds them. */
  denseStart = -1;

  constructor(capacity: number) {
    this.ids = new Int32Array(capacity);
    this.logits = new Float32Array(capacity);
    this.scratch = new Float32Array(capacity);
    this.scratchIds = new Int32Array(capacity);
  }

  idAt(i: number): number {
    return this.denseStart >= 0 ? this.denseStart + i : this.ids[i]!;
  }

  /** Writes implicit ids out (before a reorder). */
  materialize(): void {
    if (this.denseStart < 0) return;
    for (let i = 0; i < this.count; i++) this.ids[i] = this.denseStart + i;
    this.denseStart = -1;
  }

  /** Takes `logits` as a dense range of ids starting at `start` (caller filled `logits[0..count)`). */
  setDense(start: number, count: number): this {
    this.denseStart = start;
    this.count = count;
    return this;
  }

  /** Collects the finite scores of ids in [start, end). */
  gather(scores: Float32Array, start = 0, end = scores.length): this {
    const ids = this.ids;
    const logits = this.logits;
    let n = 0;
    for (let i = start; i < end; i++) {
      const x = scores[i]!;
      if (x > -Infinity) {
        ids[n] = i;
        logits[n] = x;
        n++;
      }
    }
    this.count = n;
    this.denseStart = -1;
    return this;
  }

  /** Collects the finite scores of the listed ids, in list order. */
  gatherIds(scores: Float32Array, list: readonly number[]): this {
    let n = 0;
    for (const id of list) {
      const x = scores[id]!;
      if (x > -Infinity) {
        this.ids[n] = id;
        this.logits[n] = x;
        n++;
      }
    }
    this.count = n;
    this.denseStart = -1;
    return this;
  }
}
