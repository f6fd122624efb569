import { BehaviorSubject, filter, firstValueFrom } from 'rxjs';

/**
 * Counts computation the pipeline has started and not finished: a planner call, a frame decode,
 * a plan being assembled and published. Waiting (for a frame, for controller feedback) is not work.
 * Offline lockstep replay delivers the next bag message only when this is idle, so the plans are
 * the ones the bag's order implies, every run, however fast the machine.
 */
export class PendingWork {
  readonly #count = new BehaviorSubject(0);

  get idle(): boolean {
    return this.#count.value === 0;
  }

  /** Marks one piece of work as started; call the returned function (once; later calls are no-ops) when it ends. */
  begin(): () => void {
    this.#count.next(this.#count.value + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#count.next(this.#count.value - 1);
    };
  }

  /** Runs `work` as pending work. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    const end = this.begin();
    try {
      return await work();
    } finally {
      end();
    }
  }

  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return firstValueFrom(this.#count.pipe(filter((n) => n === 0))).then(() => undefined);
  }
}
