import type { GrammarIds } from '../GrammarIds.ts';

/** What the header allows at one position: a forced id, or a set to sample from (conditional logits, no CFG). */
export type HeaderRule = { force: number } | { allow: readonly number[] };

/**
 * The `"{H}*{W}"` header after BOI. `hwIdx` = position after BOI (1 = first digit).
 * Fixed size: the header's tokens forced one by one, then IMG. Auto: hwIdx 1,4 → digits 1–9;
 * 2,5 → 0–9; 3 → `*`; > 5 → IMG (so auto grids are 10..99 each way).
 */
export class HeaderConstraint {
  readonly #ids: GrammarIds;
  readonly #nonZero: readonly number[];
  readonly #anyDigit: readonly number[];
  readonly #star: readonly number[];

  constructor(ids: GrammarIds) {
    this.#ids = ids;
    this.#anyDigit = ids.digits;
    this.#nonZero = ids.digits.slice(1);
    this.#star = [ids.star];
  }

  /** `fixed` = the header tokens to replay (fixed or force-same-size), or undefined for auto. */
  rule(hwIdx: number, fixed?: readonly number[]): HeaderRule {
    if (fixed) return hwIdx <= fixed.length ? { force: fixed[hwIdx - 1]! } : { force: this.#ids.img };
    switch (hwIdx) {
      case 1:
      case 4:
        return { allow: this.#nonZero };
      case 2:
      case 5:
        return { allow: this.#anyDigit };
      case 3:
        return { allow: this.#star };
      default:
        return { force: this.#ids.img };
    }
  }

  /** Masks `scores` to `allow` (used when the rule is a set). */
  process(scores: Float32Array, allow: readonly number[]): void {
    const keep = allow.map((id) => scores[id]!);
    scores.fill(-Infinity);
    allow.forEach((id, i) => (scores[id] = keep[i]!));
  }
}
