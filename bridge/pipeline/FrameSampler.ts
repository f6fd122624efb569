import { BehaviorSubject, filter, type Observable } from 'rxjs';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import type { Stamp } from '../../planners/Plan.ts';
import type { PendingWork } from './PendingWork.ts';

/** A camera frame with where and when it was taken. */
export interface StampedFrame {
  image: RgbImage;
  stamp: Stamp;
  frameId: string;
}

export interface FrameSamplerHooks {
  /** Pending work a decode in flight (or waiting) counts as. */
  work: PendingWork;
  onDecodeError(err: unknown): void;
  /** A frame was taken by a plan (counted once per frame). */
  onUsed(): void;
  /** A frame was replaced, or its decode skipped, before any plan took it. */
  onDropped(): void;
}

interface DecodeJob {
  decode: () => Promise<StampedFrame>;
  end: () => void;
}

/**
 * Keeps only the newest frame: the planner is the slow outer loop, so older frames are worthless and
 * never queue. Compressed frames decode asynchronously with at most one decode in flight and one
 * waiting (the newest); anything between is dropped, not queued. Every frame offered ends as used
 * or dropped (a frame still held at `complete()` counts as dropped), so the counters add up.
 */
export class FrameSampler {
  readonly #latest = new BehaviorSubject<StampedFrame | undefined>(undefined);
  readonly #hooks: FrameSamplerHooks;
  #latestUsed = false;
  #completed = false;
  #decoding = false;
  #waiting: DecodeJob | undefined;
  #dropped = 0;
  /** Bumped by clear(): a decode that started before lands dropped. */
  #epoch = 0;

  constructor(hooks: FrameSamplerHooks) {
    this.#hooks = hooks;
  }

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
    if (this.#completed) return this.#drop();
    if (this.#latest.value && !this.#latestUsed) this.#drop();
    this.#latestUsed = false;
    this.#latest.next(frame);
  }

  /** A plan takes `image`: counts the newest frame as used the first time. */
  markUsed(image: RgbImage): void {
    if (this.#latestUsed || this.#latest.value?.image !== image) return;
    this.#latestUsed = true;
    this.#hooks.onUsed();
  }

  /** Offers a frame whose decode is async (JPEG/PNG); keeps at most one waiting. */
  offerAsync(decode: () => Promise<StampedFrame>): void {
    const job = { decode, end: this.#hooks.work.begin() };
    if (!this.#decoding) return this.#run(job);
    if (this.#waiting) {
      this.#waiting.end();
      this.#drop();
    }
    this.#waiting = job;
  }

  /**
   * Forgets the held frame and any waiting decode (counted as dropped): a node that stops listening
   * must not plan, when it listens again, from a frame of before.
   */
  clear(): void {
    if (this.#completed) return;
    this.#epoch += 1;
    if (this.#waiting) {
      this.#waiting.end();
      this.#drop();
      this.#waiting = undefined;
    }
    if (this.#latest.value && !this.#latestUsed) this.#drop();
    this.#latestUsed = false;
    this.#latest.next(undefined);
  }

  complete(): void {
    if (this.#completed) return;
    this.#completed = true;
    if (this.#waiting) {
      this.#waiting.end();
      this.#drop();
      this.#waiting = undefined;
    }
    if (this.#latest.value && !this.#latestUsed) this.#drop();
    this.#latestUsed = true;
    this.#latest.complete();
  }

  #run(job: DecodeJob): void {
    this.#decoding = true;
    const epoch = this.#epoch;
    void job
      .decode()
      .then((f) => (this.#completed || epoch !== this.#epoch ? this.#drop() : this.offer(f)), (err) => this.#hooks.onDecodeError(err))
      .finally(() => {
        this.#decoding = false;
        // Ends after the offer: a plan the frame starts is already pending work, so there is no idle gap.
        job.end();
        const next = this.#waiting;
        this.#waiting = undefined;
        if (next) this.#run(next);
      });
  }

  #drop(): void {
    this.#dropped += 1;
    this.#hooks.onDropped();
  }
}
