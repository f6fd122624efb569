import { InputError } from '../../errors.ts';
import type { Candidates } from '../Candidates.ts';
import type { LogitsWarper } from '../LogitsWarper.ts';

/**
 * Nucleus filter as Emu3.5 applies it: sort descending, cumulative softmax, drop tokens whose cumulative
 * probability exceeds p, always keep the first. Sorts only the surviving candidates; skipped at p ≥ 1.
 */
export class TopPWarper implements LogitsWarper {
  #order: number[] = [];

  constructor(readonly p: number) {
    if (!(p > 0 && p <= 1)) throw new InputError('input_invalid', `top-p must be in (0, 1], got ${p}`);
  }

  warp(c: Candidates): void {
    if (this.p >= 1 || c.count <= 1) return;
    c.materialize();
    const n = c.count;
    const logits = c.logits;
    const order = this.#order;
    order.length = n;
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => logits[b]! - logits[a]! || a - b);
    const max = logits[order[0]!]!;
    let total = 0;
    for (let i = 0; i < n; i++) total += Math.exp(logits[i]! - max);
    let cumulative = 0;
    let keep = 0;
    for (; keep < n; keep++) {
      cumulative += Math.exp(logits[order[keep]!]! - max) / total;
      if (keep > 0 && cumulative > this.p) break;
    }
    // Rewrite the kept prefix in sorted order through the scratch buffer.
    const ids = c.ids;
    const tmpIds = order.slice(0, keep).map((j) => ids[j]!);
    for (let i = 0; i < keep; i++) c.scratch[i] = logits[order[i]!]!;
    for (let i = 0; i < keep; i++) {
      ids[i] = tmpIds[i]!;
      logits[i] = c.scratch[i]!;
    }
    c.count = keep;
  }
}
