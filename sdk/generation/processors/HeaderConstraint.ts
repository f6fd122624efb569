import type { Candidates } from '../Candidates.ts';
import type { GrammarIds } from '../GrammarIds.ts';
import type { LogitsContext, LogitsProcessor } from '../LogitsProcessor.ts';

/** What the header allows at one position: a forced id, or a set to sample from (conditional logits, no CFG). */
export type HeaderRule = { force: number } | { allow: readonly number[] };

/**
 * The `"{H}*{W}"` header after BOI. `hwIdx` = position after BOI (1 = first digit).
 * Fixed size: the header's tokens forced one by one, then IMG. Auto: hwIdx 1,4 → digits 1–9;
 * 2,5 → 0–9; 3 → `*`; > 5 → IMG (so auto grids are 10..99 each way).
 *
 * `rule` is what `ImageGrammar` asks; `process` is the header-step processor the loop runs: the candidate
 * set is the allowed ids' conditional scores (header digits take no CFG, as in the reference).
 */
export class HeaderConstraint implements LogitsProcessor {
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

  /** Candidates = the finite conditional scores of `ctx.allow`, in list order. */
  process(c: Candidates, ctx: LogitsContext): void {
    c.gatherIds(ctx.cond, ctx.allow);
  }
}
