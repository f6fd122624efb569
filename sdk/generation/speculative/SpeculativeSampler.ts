import { EngineError } from '../../errors.ts';
import { probabilityOf, type Distribution } from './Distribution.ts';

/**
 * Speculative sampling's acceptance rule (Leviathan et al. 2023; Jacobi form: Teng et al., "Accelerating
 * auto-regressive text-to-image generation with training-free speculative Jacobi decoding", 2024).
 *
 * A draft `x` drawn from `q` is kept with probability min(1, p(x)/q(x)); otherwise the token is drawn from
 * the residual norm(max(0, p − q)). The kept or redrawn token is then distributed exactly as `p`, so top-k,
 * top-p, temperature and CFG (all folded into `p`) keep their meaning. `q` = null is a point mass at `x`
 * (a deterministic draft: acceptance p(x), residual p without x). Under greedy `p` is a point mass and the
 * rule reduces to "keep while the draft equals the argmax".
 */
export class SpeculativeSampler {
  readonly #random: () => number;
  /** q scattered by id for the residual; zeroed after each use. */
  readonly #q: Float32Array;

  constructor(random: () => number, vocabSize: number) {
    this.#random = random;
    this.#q = new Float32Array(vocabSize);
  }

  sample(p: Distribution): number {
    const n = p.ids.length;
    if (n === 0) throw new EngineError('no candidate token left to sample: the processors/warpers masked every id');
    if (n === 1) return p.ids[0]!;
    let u = this.#random();
    for (let i = 0; i < n; i++) {
      u -= p.probs[i]!;
      if (u < 0) return p.ids[i]!;
    }
    return p.ids[n - 1]!;
  }

  /** The verdict on draft `x` (drawn from `q`) under the target `p`. */
  verify(p: Distribution, x: number, q: Distribution | null): { token: number; accepted: boolean } {
    const px = probabilityOf(p, x);
    const qx = q ? probabilityOf(q, x) : 1;
    // Draws only where the outcome is uncertain, so a greedy run spends no randomness here.
    if (px > 0 && (px >= qx || this.#random() * qx < px)) return { token: x, accepted: true };
    return { token: this.#residual(p, x, q), accepted: false };
  }

  /** A draw from norm(max(0, p − q)); p itself where p ≤ q everywhere (only by rounding). */
  #residual(p: Distribution, x: number, q: Distribution | null): number {
    if (p.ids.length === 1) return p.ids[0]!;
    const scattered = this.#q;
    if (q) for (let i = 0; i < q.ids.length; i++) scattered[q.ids[i]!] = q.probs[i]!;
    else scattered[x] = 1;
    const n = p.ids.length;
    const r = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      r[i] = Math.max(0, p.probs[i]! - scattered[p.ids[i]!]!);
      total += r[i]!;
    }
    if (q) for (let i = 0; i < q.ids.length; i++) scattered[q.ids[i]!] = 0;
    else scattered[x] = 0;
    if (!(total > 1e-12)) return this.sample(p);
    let u = this.#random() * total;
    for (let i = 0; i < n; i++) {
      u -= r[i]!;
      if (u < 0) return p.ids[i]!;
    }
    for (let i = n - 1; i >= 0; i--) if (r[i]! > 0) return p.ids[i]!;
    return p.ids[n - 1]!;
  }
}
