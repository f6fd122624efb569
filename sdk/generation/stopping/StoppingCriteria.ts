import type { StopReason } from '../GenerationEvent.ts';

/**
 * Decides whether generation ends. The loop evaluates its list in order before every forward pass (so
 * after each generated token and its events, and once before the prefill with `tokens` empty); the first
 * reason returned wins. Checking before the forward pass, not after sampling, is what makes "no model work
 * after a stop or an abort" hold by construction.
 *
 * `'aborted'` is special: the loop does not finish with a `done` event for it but rejects with
 * `AbortError` (code `'aborted'`, the signal's reason as `cause`), because callers (planners, the bridge,
 * backends) tell a cancelled run from a finished one by that error. So `usage.stopReason` is only ever
 * `'eos' | 'eoi' | 'max_tokens'`; `AbortCriteria` is the one place the loop checks the signal (the model
 * calls it makes get the signal too and check it themselves).
 */
export interface StoppingCriteria {
  /** `tokens` = ids generated so far (the last one is the newest); undefined = go on. */
  check(tokens: readonly number[], signal: AbortSignal): StopReason | undefined;
}

/** Stops as soon as the signal has fired (listed first, so an abort wins over every other reason). */
export class AbortCriteria implements StoppingCriteria {
  check(_tokens: readonly number[], signal: AbortSignal): StopReason | undefined {
    return signal.aborted ? 'aborted' : undefined;
  }
}

/** Stops after the end-of-sequence id. */
export class EosCriteria implements StoppingCriteria {
  constructor(readonly eos: number) {}

  check(tokens: readonly number[]): StopReason | undefined {
    return tokens.length > 0 && tokens[tokens.length - 1] === this.eos ? 'eos' : undefined;
  }
}

/** Stops after the first end-of-image id (single-image tasks: `stopAtEoi`). */
export class EoiCriteria implements StoppingCriteria {
  constructor(readonly eoi: number) {}

  check(tokens: readonly number[]): StopReason | undefined {
    return tokens.length > 0 && tokens[tokens.length - 1] === this.eoi ? 'eoi' : undefined;
  }
}

/** Stops once `max` ids are generated (no forward pass after the last one). */
export class MaxTokensCriteria implements StoppingCriteria {
  constructor(readonly max: number) {}

  check(tokens: readonly number[]): StopReason | undefined {
    return tokens.length >= this.max ? 'max_tokens' : undefined;
  }
}

/** The loop's list: abort, EOS, EOI (when `stopAtEoi`), max tokens, in that order of precedence. */
export function buildStoppingCriteria(o: { eos: number; eoi: number; stopAtEoi: boolean; maxNewTokens: number }): StoppingCriteria[] {
  const out: StoppingCriteria[] = [new AbortCriteria(), new EosCriteria(o.eos)];
  if (o.stopAtEoi) out.push(new EoiCriteria(o.eoi));
  out.push(new MaxTokensCriteria(o.maxNewTokens));
  return out;
}
