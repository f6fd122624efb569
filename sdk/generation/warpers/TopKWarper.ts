import type { Candidates } from '../Candidates.ts';
import type { LogitsWarper } from '../LogitsWarper.ts';
import { kthLargest } from './kthLargest.ts';

/** Keeps scores ≥ the k-th largest (ties at the threshold survive, as in HF). Selection, not a sort. */
export class TopKWarper implements LogitsWarper {
  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`top-k must be a positive integer, got ${k}`);
  }

  warp(c: Candidates): void {
    const n = c.count;
    if (n <= this.k) return;
    const threshold = kthLargest(c.logits, n, this.k, c.scratch);
    const logits = c.logits;
    const ids = c.ids;
    const dense = c.denseStart;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const x = logits[i]!;
      if (x >= threshold) {
        logits[m] = x;
        ids[m] = dense >= 0 ? dense + i : ids[i]!;
        m++;
      }
    }
    c.count = m;
    c.denseStart = -1;
  }
}
