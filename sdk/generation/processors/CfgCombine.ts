/**
 * Classifier-free guidance, Emu3.5 "no_text": `logp_u + s·(logp_c − logp_u)` with both streams
 * log-softmaxed over the full vocabulary, before any mask.
 *
 * Expanding: guided = u + s·(c − u) − [(1−s)·LSE(u) + s·LSE(c)]. The bracket is one constant for all
 * ids, and everything after CFG (mask, temperature, top-k, top-p, softmax) is shift-invariant, so the
 * hot path (`exact: false`) skips the two full-vocabulary exp passes (~10 ms at 282,926 ids here) and
 * samples the identical distribution. `exact: true` writes the true log-probabilities.
 */
export class CfgCombine {
  constructor(
    readonly scale: number,
    readonly exact = false,
  ) {}

  /**
   * Writes guided scores for ids in [start, end) to `out[offset + (id − start)]`: the range the following
   * mask keeps, so the masked-away ids are never computed. `offset` = start writes in place by id.
   */
  process(out: Float32Array, cond: Float32Array, uncond: Float32Array, start = 0, end = cond.length, offset = start): void {
    const s = this.scale;
    const shift = this.shift(cond, uncond);
    const d = offset - start;
    for (let i = start; i < end; i++) {
      const u = uncond[i]!;
      out[i + d] = u + s * (cond[i]! - u) - shift;
    }
  }

  /** The constant subtracted from every guided score: the log-normalisers under `exact`, else 0. */
  shift(cond: Float32Array, uncond: Float32Array): number {
    const s = this.scale;
    return this.exact ? (1 - s) * logSumExp(uncond) + s * logSumExp(cond) : 0;
  }
}

/** log Σ exp(x) in one max pass and one sum pass. */
export function logSumExp(x: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i]! - max);
  return max + Math.log(sum);
}
