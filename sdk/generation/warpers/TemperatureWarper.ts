import { InputError } from '../../errors.ts';
import type { Candidates } from '../Candidates.ts';
import type { LogitsWarper } from '../LogitsWarper.ts';

/** Divides scores by T (T > 0; T < 1 sharpens, T > 1 flattens). A no-op at T = 1. */
export class TemperatureWarper implements LogitsWarper {
  readonly #inv: number;
  constructor(readonly temperature: number) {
    if (!(temperature > 0)) throw new InputError('input_invalid', `temperature must be > 0, got ${temperature}`);
    this.#inv = 1 / temperature;
  }

  warp(c: Candidates): void {
    if (this.temperature === 1) return;
    const l = c.logits;
    for (let i = 0; i < c.count; i++) l[i] = l[i]! * this.#inv;
  }
}
