import { BehaviorSubject, filter, type Observable } from 'rxjs';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import type { Stamp } from '../../planners/Plan.ts';

/** A camera frame with where and when it was taken. */
export interface StampedFrame {
  image: RgbImage;
  stamp: Stamp;
  frameId: string;
}

/**
 * Keeps only the newest frame: the planner is the slow outer loop, so older frames are worthless and
 * never queue. Compressed frames decode asynchronously with at most one decode in flight and one
 * waiting (the newest); anything between is dropped, not queued.
 */
export class FrameSampler {
  readonly #latest = new BehaviorSubject<StampedFrame | undefined>(undefined);
  #decoding = false;
  #waiting: (() => Promise<StampedFrame>) | undefined;
  #dropped = 0;

  constructor(private readonly onDecodeError: (err: unknown) => void) {}

  get latest(): StampedFrame | undefined {
    return this.#latest.value;
  }

  /** Frames replaced before any planner used them, or decodes skipped. */
  get dropped(): number {
    return this.#dropped;
  }

  get frames(): Observable<StampedFrame> {
    return this.#latest.pipe(filter((f): f is StampedFrame => f !== undefined));
  }

  offer(frame: StampedFrame): void {
    this.#latest.next(frame);
  }

  /** Offers a frame whose decode is async (JPEG/PNG); keeps at most one waiting. */
  offerAsync(decode: () => Promise<StampedFrame>): void {
    if (this.#decoding) {
      if (this.#waiting) this.#dropped += 1;
      this.#waiting = decode;
      return;
    }
    this.#decoding = true;
    void decode()
      .then((f) => this.offer(f), (err) => this.onDecodeError(err))
      .finally(() => {
        this.#decoding = false;
        const next = this.#waiting;
        this.#waiting = undefined;
        if (next) this.offerAsync(next);
      });
  }


  complete(): void {
    this.#latest.complete();
  }
}
