import { InputError } from '../../errors.ts';
import type { Candidates } from '../Candidates.ts';
import type { LogitsWarper } from '../LogitsWarper.ts';
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
    // pool → logits/ids (original order kept), then select on the pool copy.
    logits.set(pool.subarray(0, m));
    ids.set(poolIds.subarray(0, m));
    const threshold = quickselect(pool, m, k);
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

  /** A score that, judging by a strided sample, about k + 3σ + 16 of the n scores reach. */
  #lowerBound(a: Float32Array, n: number, k: number): number {
    const s = this.#sample;
    const stride = n / SAMPLE;
    for (let i = 0; i < SAMPLE; i++) s[i] = a[Math.floor(i * stride)]!;
    const r = (k / n) * SAMPLE;
    const rank = Math.min(SAMPLE, Math.ceil(r + 3 * Math.sqrt(r) + 16));
    return quickselect(s, SAMPLE, rank);
  }
}
