import { Observable } from 'rxjs';
import { AbortError } from '../errors.ts';
import type { GenerationEvent } from './GenerationEvent.ts';
import { GenerationLoop, type GenerationLoopParams } from './GenerationLoop.ts';

/**
 * Runs one generation as a cold Observable of GenerationEvent. Work starts on subscribe; unsubscribing
 * or aborting `signal` stops it before the next forward pass (an abort via `signal` errors the stream
 * with AbortError).
 */
export function generate(params: GenerationLoopParams, signal?: AbortSignal): Observable<GenerationEvent> {
  return new Observable<GenerationEvent>((subscriber) => {
    const controller = new AbortController();
    const combined = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
    let loop: GenerationLoop;
    try {
      loop = new GenerationLoop(params);
    } catch (err) {
      subscriber.error(err);
      return;
    }
    loop.run(combined, (e) => subscriber.next(e)).then(
      () => subscriber.complete(),
      (err: unknown) => subscriber.error(combined.aborted && !(err instanceof AbortError) ? new AbortError('The operation was aborted', { cause: err }) : err),
    );
    return () => controller.abort(new AbortError('unsubscribed'));
  });
}
