import { EngineError } from '../errors.ts';
import type { Candidates } from './Candidates.ts';
import { mulberry32 } from './mulberry32.ts';

/** Draws one id from softmax(candidates) with a seeded PRNG. */
export class CategoricalSampler {
  readonly #random: () => number;

  constructor(seed: number) {
    this.#random = mulberry32(seed);
  }

  /** A uniform draw in [0, 1) from the same seeded stream (speculative acceptance shares it). */
  uniform(): number {
    return this.#random();
  }

  sample(c: Candidates): number {
    const n = c.count;
    if (n === 0) throw new EngineError('no candidate token left to sample: the processors/warpers masked every id');
    if (n === 1) return c.idAt(0);
    const logits = c.logits;
    const w = c.scratch;
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (logits[i]! > max) max = logits[i]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp(logits[i]! - max);
      w[i] = e;
      total += e;
    }
    let u = this.#random() * total;
    for (let i = 0; i < n; i++) {
      u -= w[i]!;
      if (u < 0) return c.idAt(i);
    }
    return c.idAt(n - 1);
  }
}
