import { InputError } from '../../errors.ts';
import type { Candidates } from '../Candidates.ts';
import type { LogitsWarper } from '../LogitsWarper.ts';
import type { CfgCombine } from '../processors/CfgCombine.ts';
import { quickselect } from './quickselect.ts';

const SAMPLE = 2048;

/**
 * Keeps scores ≥ the k-th largest (ties at the threshold survive, as in HF). No sort: a strided sample
 * of 2048 scores gives a lower bound that ~k + a safety margin scores exceed; one pass collects those,
 * quickselect finds the exact threshold among them. If the bound was too high, it falls back to
 * quickselect over everything (same result, slower).
 */
export class TopKWarper implements LogitsWarper {
  readonly #sample = new Float32Array(SAMPLE);

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new InputError('input_invalid', `top-k must be a positive integer, got ${k}`);
  }

  warp(c: Candidates): void {
    const n = c.count;
    const k = this.k;
    if (n <= k) return;
    const logits = c.logits;
    const ids = c.ids;
    const dense = c.denseStart;
    if (k === 1) {
      // Greedy: the threshold is the max, found in one pass (no pool copy, no select); ties survive.
      let max = -Infinity;
      for (let i = 0; i < n; i++) if (logits[i]! > max) max = logits[i]!;
      let j = 0;
      for (let i = 0; i < n; i++) {
        if (logits[i]! >= max) {
          ids[j] = dense >= 0 ? dense + i : ids[i]!;
          logits[j] = logits[i]!;
          j++;
        }
      }
      c.count = j;
      c.denseStart = -1;
      return;
    }
    const pool = c.scratch;
    const poolIds = c.scratchIds;
    let m = 0;
    if (n >= 4 * SAMPLE && k * 4 <= n) {
      const bound = this.#lowerBound(logits, n, k);
      for (let i = 0; i < n; i++) {
        const x = logits[i]!;
        if (x >= bound) {
          pool[m] = x;
          poolIds[m] = dense >= 0 ? dense + i : ids[i]!;
          m++;
        }
      }
    }
    if (m < k) {
      m = n;
      pool.set(logits.subarray(0, n));
      for (let i = 0; i < n; i++) poolIds[i] = dense >= 0 ? dense + i : ids[i]!;
    }
    this.#keepTop(c, m);
  }

  /**
   * The pool (`c.scratch`/`c.scratchIds`, `m` entries in id order) → the candidates scoring ≥ its k-th
   * largest: copied to logits/ids (order kept), then selected on the pool copy.
   */
  #keepTop(c: Candidates, m: number): void {
    const logits = c.logits;
    const ids = c.ids;
    logits.set(c.scratch.subarray(0, m));
    ids.set(c.scratchIds.subarray(0, m));
    const threshold = quickselect(c.scratch, m, this.k);
    let j = 0;
    for (let i = 0; i < m; i++) {
      const x = logits[i]!;
      if (x >= threshold) {
        logits[j] = x;
        ids[j] = ids[i]!;
        j++;
      }
    }
    c.count = j;
    c.denseStart = -1;
  }

  /**
   * CFG over ids [start, end) then this top-k, fused: the same candidates (ids, scores, order) as
   * `cfg.process` into a dense range followed by `warp`, but guided scores are computed for the strided
   * sample and then written only for the ids that clear its bound, in one pass over the two streams:
   * the guided grid step's hot path at Emu3.5's 131,072 codes. Where the bound proves too high it runs
   * the two steps instead.
   */
  warpGuided(c: Candidates, cfg: CfgCombine, cond: Float32Array, uncond: Float32Array, start: number, end: number): void {
    const n = end - start;
    const k = this.k;
    if (n < 4 * SAMPLE || k * 4 > n || k === 1) return this.#unfused(c, cfg, cond, uncond, start, end);
    const s = cfg.scale;
    const shift = cfg.shift(cond, uncond);
    // The bound `#lowerBound` would find on the dense guided scores: the same strided ids, the same values.
    const sample = this.#sample;
    const stride = n / SAMPLE;
    for (let i = 0; i < SAMPLE; i++) {
      const id = start + Math.floor(i * stride);
      const u = uncond[id]!;
      sample[i] = u + s * (cond[id]! - u) - shift;
    }
    const bound = quickselect(sample, SAMPLE, boundRank(k, n));
    const pool = c.scratch;
    const poolIds = c.scratchIds;
    let m = 0;
    for (let id = start; id < end; id++) {
      const u = uncond[id]!;
      // Rounded to float32 as the dense buffer would hold it, so comparisons and ties are the same.
      const x = Math.fround(u + s * (cond[id]! - u) - shift);
      if (x >= bound) {
        pool[m] = x;
        poolIds[m] = id;
        m++;
      }
    }
    if (m < k) return this.#unfused(c, cfg, cond, uncond, start, end);
    this.#keepTop(c, m);
  }

  #unfused(c: Candidates, cfg: CfgCombine, cond: Float32Array, uncond: Float32Array, start: number, end: number): void {
    cfg.process(c.logits, cond, uncond, start, end, 0);
    c.setDense(start, end - start);
    this.warp(c);
  }

  /** A score that, judging by a strided sample, about k + 3σ + 16 of the n scores reach. */
  #lowerBound(a: Float32Array, n: number, k: number): number {
    const s = this.#sample;
    const stride = n / SAMPLE;
    for (let i = 0; i < SAMPLE; i++) s[i] = a[Math.floor(i * stride)]!;
    return quickselect(s, SAMPLE, boundRank(k, n));
  }
}

/** The sample rank whose score about k + 3σ + 16 of the n scores reach. */
function boundRank(k: number, n: number): number {
  const r = (k / n) * SAMPLE;
  return Math.min(SAMPLE, Math.ceil(r + 3 * Math.sqrt(r) + 16));
}
