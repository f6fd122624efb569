import { EngineError } from '../errors.ts';
import type { Candidates } from './Candidates.ts';

/**
 * How image codes are drawn: the Gumbel-max trick with noise fixed by position. The code at grid position
 * p is argmax over the candidates of score(id) + G(key, p, id), where G is a Gumbel variate computed from a
 * hash of (image key, p, id) and the key is drawn from the generation's seeded stream once per image.
 *
 * Each position's noise is independent of every other's, so a grid drawn token by token is a sample of the
 * model's distribution (temperature, top-k, top-p and CFG folded into the scores), as an inverse-CDF draw
 * would be. What fixing the noise by position buys: the code at p is a function of the prefix alone, not of
 * how many draws came before it. A parallel decoder verifies a draft by evaluating that function at the
 * draft's row (Jacobi decoding becomes a fixed-point iteration, as under greedy decoding), so an exact
 * scheme returns sequential decoding's very tokens under sampling too, and a draft made from a stale row
 * with the same noise survives wherever the distribution moved little.
 */
export class GridNoise {
  #key = 0;

  /** Starts an image: its key (a 32-bit draw from the generation's stream). */
  rekey(key: number): void {
    this.#key = key >>> 0;
  }

  /** The code at grid `position` from the warped candidates (a lone candidate is returned as is). */
  draw(c: Candidates, position: number): number {
    const n = c.count;
    if (n === 0) throw new EngineError('no candidate token left to sample: the processors/warpers masked every id');
    if (n === 1) return c.idAt(0);
    const logits = c.logits;
    const row = mix32(this.#key ^ mix32(position + 0x9e3779b9));
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      const h = mix32(row ^ Math.imul(c.idAt(i), 0x85ebca6b));
      const x = logits[i]!;
      // G is increasing in the hash, so its bucket bounds it: only a candidate that could win pays for the logs.
      if (x + UPPER[h >>> BUCKET_SHIFT]! <= bestScore) continue;
      const score = x + gumbel(h);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return c.idAt(best);
  }
}

/**
 * G = −log(−log u), u = (h + 0.5) / 2^32 from a bijective hash of the id within the row's key. Computing it
 * for every candidate (two logs each) was most of a draw's cost at top-k 5120; but a candidate can win only
 * if its score plus the largest G its hash bucket allows beats the best so far, and after the first few
 * candidates almost none can (the winner's G is ~ln n above the typical one). So a draw computes the exact
 * G for a handful of candidates and is still the exact argmax.
 */
function gumbel(h: number): number {
  return -Math.log(-Math.log((h + 0.5) / 4294967296));
}

const BUCKET_SHIFT = 22;
/** UPPER[b] ≥ G for every hash in bucket b (the top of the bucket; the last one's is the largest hash's). */
const UPPER = Float64Array.from({ length: 1 << (32 - BUCKET_SHIFT) }, (_, b) => gumbel(Math.min(4294967295, (b + 1) * 2 ** BUCKET_SHIFT)));

/** A 32-bit finalizer (lowbias32): a bijection on uint32 with good avalanche. */
function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d);
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
