import { InputError } from '../../errors.ts';
import type { Candidates } from '../Candidates.ts';
import type { LogitsContext, LogitsProcessor } from '../LogitsProcessor.ts';

/**
 * HF's repetition penalty (CTRL, Keskar et al. 2019): every candidate id already generated has its score
 * divided by `penalty` when positive and multiplied by it when negative, so `penalty > 1` always makes a
 * repeat less likely. Only generated ids count, not the prompt: Emu3.5 prompts carry instructions and
 * reference-image codes that the output is meant to reuse.
 *
 * A user processor (`GenerationLoopParams.processors`): it runs after the built-in mask/CFG of every mode
 * it is listed for. Keeps a seen-set updated incrementally from `ctx.tokens`, so a step costs O(new tokens
 * + candidates), and one instance may serve one generation at a time.
 */
export class RepetitionPenalty implements LogitsProcessor {
  readonly #seen: Uint8Array;
  #upTo = 0;
  #last: readonly number[] | undefined;

  constructor(
    readonly penalty: number,
    vocabSize: number,
  ) {
    if (!(penalty > 0) || !Number.isFinite(penalty)) throw new InputError('input_invalid', `repetition penalty must be a finite number > 0, got ${penalty}`);
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new InputError('input_invalid', `vocabSize must be a positive integer, got ${vocabSize}`);
    this.#seen = new Uint8Array(vocabSize);
  }

  process(c: Candidates, ctx: LogitsContext): void {
    const tokens = ctx.tokens;
    const seen = this.#seen;
    if (tokens !== this.#last || tokens.length < this.#upTo) {
      // A new generation (or a rewound one): rebuild the seen-set.
      seen.fill(0);
      this.#upTo = 0;
      this.#last = tokens;
    }
    for (let i = this.#upTo; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t >= 0 && t < seen.length) seen[t] = 1;
    }
    this.#upTo = tokens.length;
    if (this.penalty === 1) return;
    const l = c.logits;
    const n = c.count;
    const p = this.penalty;
    const dense = c.denseStart;
    const ids = c.ids;
    for (let i = 0; i < n; i++) {
      if (seen[dense >= 0 ? dense + i : ids[i]!] !== 1) continue;
      const x = l[i]!;
      l[i] = x > 0 ? x / p : x * p;
    }
  }
}
