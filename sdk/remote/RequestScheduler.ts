import { AbortError, OverloadedError } from '../errors.ts';

interface Waiter {
  resolve(release: () => void): void;
  reject(err: Error): void;
  onPosition(position: number): void;
}

/**
 * Admission for the engine: at most `maxConcurrency` requests run, at most `maxQueue` wait, in
 * arrival order. A waiter hears its 1-based queue position whenever it changes (it only falls);
 * a full queue refuses at once (OverloadedError, retryable), and an aborted waiter leaves the queue.
 */
export class RequestScheduler {
  readonly maxConcurrency: number;
  readonly maxQueue: number;
  #running = 0;
  readonly #queue: Waiter[] = [];

  constructor(maxConcurrency: number, maxQueue: number) {
    this.maxConcurrency = maxConcurrency;
    this.maxQueue = maxQueue;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Resolves with a release function once a slot is free. */
  acquire(signal: AbortSignal, onPosition: (position: number) => void = () => {}): Promise<() => void> {
    if (signal.aborted) return Promise.reject(new AbortError('cancelled before it started'));
    if (this.#running < this.maxConcurrency && this.#queue.length === 0) return Promise.resolve(this.#grant());
    if (this.#queue.length >= this.maxQueue) {
      return Promise.reject(new OverloadedError(`server busy: ${this.#running} running and ${this.#queue.length} queued (max queue ${this.maxQueue}); retry later or elsewhere`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
        reject,
        onPosition,
      };
      const onAbort = () => {
        const at = this.#queue.indexOf(waiter);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(new AbortError('cancelled while queued'));
        this.#announce(at);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      onPosition(this.#queue.length);
    });
  }

  #grant(): () => void {
    this.#running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      const next = this.#queue.shift();
      if (next) {
        next.resolve(this.#grant());
        this.#announce(0);
      }
    };
  }

  /** Tells the waiters from `from` on their new positions. */
  #announce(from: number): void {
    for (let i = Math.max(0, from); i < this.#queue.length; i++) this.#queue[i]!.onPosition(i + 1);
  }
}
