import { Observable } from 'rxjs';
import { AbortError, InputError } from '../errors.ts';
import type { GenerationEvent } from '../generation/GenerationEvent.ts';
import type { RequestOptions, SamplingOverrides } from '../generation/TaskRequest.ts';

export interface StepOptions extends RequestOptions {
  sampling?: SamplingOverrides;
}

export interface WalkOptions {
  steps: number;
  signal?: AbortSignal;
  /** Before each step: a command to use instead of letting the model choose (undefined = its own move). */
  interject?: () => string | undefined;
  sampling?: SamplingOverrides;
}

export interface WalkItem {
  step: number;
  command: string;
  event: GenerationEvent;
}

/**
 * A multi-turn generation that keeps its context, in-process (`GenerationSession`) or on a remote
 * engine (`RemoteSession`, the cache staying on the server): the same API either way.
 */
export interface EmuSession {
  /** Steps finished. */
  readonly turns: number;
  /** Positions of the model's context in use. */
  readonly length: number;
  /** Turns dropped from the context so far (contextFull: 'drop-oldest'). */
  readonly dropped: number;
  step(text: string, options?: StepOptions): Observable<GenerationEvent>;
  walk(options: WalkOptions): Observable<WalkItem>;
  fork(): EmuSession;
  close(): void;
}

/**
 * Free exploration over any session: `steps` turns in which the model chooses its own moves (an
 * empty user turn), or the command `interject()` returns before a step. A cancel stops the walk;
 * the step in flight is rolled back, the finished ones are kept.
 */
export function walkSession(session: Pick<EmuSession, 'step'>, options: WalkOptions): Observable<WalkItem> {
  if (!Number.isInteger(options.steps) || options.steps < 1) throw new InputError('input_invalid', `walk needs a whole number of steps ≥ 1, got ${options.steps}`);
  return new Observable<WalkItem>((subscriber) => {
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    let current: { unsubscribe(): void } | undefined;
    const next = (step: number) => {
      if (step === options.steps) return subscriber.complete();
      if (signal.aborted) return subscriber.error(new AbortError('The walk was aborted', { cause: signal.reason }));
      const command = options.interject?.() ?? '';
      current = session.step(command, { signal, ...(options.sampling ? { sampling: options.sampling } : {}) }).subscribe({
        next: (event) => subscriber.next({ step, command, event }),
        error: (err: unknown) => subscriber.error(err),
        complete: () => next(step + 1),
      });
    };
    next(0);
    return () => {
      controller.abort(new AbortError('unsubscribed'));
      current?.unsubscribe();
    };
  });
}
