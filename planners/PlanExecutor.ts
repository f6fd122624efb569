import { from, Observable, type SchedulerLike, type Subscription, timer } from 'rxjs';
import { z } from 'zod';
import { parseOrThrow } from '../sdk/errors.ts';
import type { RgbImage } from '../sdk/image/RgbImage.ts';
import { type FrameComparator, frameDistance } from './frameDistance.ts';
import type { PlannedSubgoal, Planner, PlanProgress } from './Planner.ts';

/** What the low-level controller reports about the subgoal it was given. */
export type ControllerFeedback =
  | { type: 'done'; index: number; /** The frame reached; default: the newest camera frame. */ frame?: RgbImage }
  | { type: 'failed'; index: number; reason?: string };

export type ReplanReason = 'failed' | 'timeout' | 'keyframe_mismatch' | 'planner_error' | 'empty_plan';

/** What the executor tells the outside world, in order. */
export type ExecutorEvent =
  | { type: 'planning'; attempt: number; reason: ReplanReason | 'initial' }
  | { type: 'plan'; attempt: number; plan: PlanProgress }
  | { type: 'subgoal'; attempt: number; index: number; subgoal: PlannedSubgoal }
  | { type: 'replan'; attempt: number; reason: ReplanReason; detail: string }
  | { type: 'finished'; outcome: 'succeeded' | 'failed'; replans: number; detail: string };

export const PlanExecutorOptionsSchema = z
  .object({
    /** Re-plans allowed before giving up. @default 3 */
    maxReplans: z.number().int().nonnegative().default(3),
    /** A subgoal not reported done within this time triggers a re-plan. @default 30000 @unit ms */
    subgoalTimeoutMs: z.number().positive().default(30_000),
    /** Re-plan when a done subgoal's reached frame is farther than this from its keyframe (1 disables). @default 0.25 */
    keyframeThreshold: z.number().min(0).max(1).default(0.25),
  })
  .strict();
export type PlanExecutorOptions = z.input<typeof PlanExecutorOptionsSchema> & {
  /** Reached-frame vs keyframe distance in [0,1]. @default frameDistance */
  compare?: FrameComparator;
  /** Timer scheduler; a TestScheduler runs the executor on virtual time. */
  scheduler?: SchedulerLike;
};

export interface ExecutionInput {
  goal: string;
  /** Camera frames; the newest is used for every (re)plan. */
  frames: Observable<RgbImage>;
  feedback: Observable<ControllerFeedback>;
}

/**
 * Follows a plan against controller feedback: publishes the current subgoal, advances on `done`,
 * and re-plans from the newest frame on `failed`, on a subgoal timeout, or when the frame reached
 * departs from the subgoal's keyframe. Re-plans are bounded by `maxReplans`. Cold: each
 * subscription runs one execution; unsubscribing stops the planner and the timers.
 *
 * @example
 * new PlanExecutor(planner, { maxReplans: 2 }).run({ goal, frames: camera$, feedback: controller$ }).subscribe(publish);
 */
export class PlanExecutor {
  readonly #planner: Planner;
  readonly #options: z.output<typeof PlanExecutorOptionsSchema>;
  readonly #compare: FrameComparator;
  readonly #scheduler: SchedulerLike | undefined;

  constructor(planner: Planner, options: PlanExecutorOptions = {}) {
    const { compare, scheduler, ...rest } = options;
    this.#planner = planner;
    this.#options = parseOrThrow(PlanExecutorOptionsSchema, rest, 'PlanExecutor options');
    this.#compare = compare ?? frameDistance;
    this.#scheduler = scheduler;
  }

  run(input: ExecutionInput): Observable<ExecutorEvent> {
    return new Observable<ExecutorEvent>((subscriber) => {
      const run = new Execution(this.#planner, this.#options, this.#compare, this.#scheduler, input, (e) => subscriber.next(e), () => subscriber.complete());
      run.start();
      return () => run.stop();
    });
  }
}

type Options = z.output<typeof PlanExecutorOptionsSchema>;

/** One execution's state machine: planning → executing subgoal i → (advance | re-plan) → finished. */
class Execution {
  #latestFrame: RgbImage | undefined;
  #attempt = 0;
  #subgoals: PlannedSubgoal[] = [];
  #current = -1;
  #stopped = false;
  #framesSub: Subscription | undefined;
  #feedbackSub: Subscription | undefined;
  #planSub: Subscription | undefined;
  #timerSub: Subscription | undefined;
  #waitSub: Subscription | undefined;

  constructor(
    private readonly planner: Planner,
    private readonly options: Options,
    private readonly compare: FrameComparator,
    private readonly scheduler: SchedulerLike | undefined,
    private readonly input: ExecutionInput,
    private readonly emit: (e: ExecutorEvent) => void,
    private readonly complete: () => void,
  ) {}

  start(): void {
    this.#framesSub = this.input.frames.subscribe((f) => (this.#latestFrame = f));
    this.#feedbackSub = this.input.feedback.subscribe((f) => this.#onFeedback(f));
    this.#plan('initial');
  }

  stop(): void {
    this.#stopped = true;
    for (const s of [this.#framesSub, this.#feedbackSub, this.#planSub, this.#timerSub, this.#waitSub]) s?.unsubscribe();
  }

  #plan(reason: ReplanReason | 'initial'): void {
    this.#current = -1;
    this.#timerSub?.unsubscribe();
    this.emit({ type: 'planning', attempt: this.#attempt, reason });
    if (this.#latestFrame) return this.#planFrom(this.#latestFrame);
    this.#waitSub = this.input.frames.subscribe((f) => {
      this.#waitSub?.unsubscribe();
      if (!this.#stopped && this.#current === -1) this.#planFrom(f);
    });
  }

  #planFrom(frame: RgbImage): void {
    const request = { frame, goal: this.input.goal };
    const stream: Observable<PlanProgress> = this.planner.planStream
      ? this.planner.planStream(request)
      : from(this.planner.plan(request).then((r) => ({ subgoals: r.subgoals, complete: true })));
    const attempt = this.#attempt;
    let last: PlanProgress | undefined;
    this.#planSub?.unsubscribe();
    this.#planSub = stream.subscribe({
      next: (plan) => {
        last = plan;
        this.emit({ type: 'plan', attempt, plan });
      },
      error: (err) => this.#replan('planner_error', (err as Error).message ?? String(err)),
      complete: () => {
        if (!last || last.subgoals.length === 0) return this.#replan('empty_plan', 'the planner returned no subgoals');
        this.#subgoals = last.subgoals;
        this.#activate(0);
      },
    });
  }

  #activate(index: number): void {
    this.#current = index;
    this.emit({ type: 'subgoal', attempt: this.#attempt, index, subgoal: this.#subgoals[index]! });
    this.#timerSub?.unsubscribe();
    this.#timerSub = timer(this.options.subgoalTimeoutMs, this.scheduler).subscribe(() =>
      this.#replan('timeout', `subgoal ${index} not done within ${this.options.subgoalTimeoutMs} ms`),
    );
  }

  #onFeedback(feedback: ControllerFeedback): void {
    if (this.#stopped || this.#current < 0 || feedback.index !== this.#current) return;
    if (feedback.type === 'failed') return this.#replan('failed', `controller failed subgoal ${feedback.index}${feedback.reason ? `: ${feedback.reason}` : ''}`);
    const subgoal = this.#subgoals[this.#current]!;
    const reached = feedback.frame ?? this.#latestFrame;
    if (subgoal.keyframe && reached) {
      const distance = this.compare(reached, subgoal.keyframe);
      if (distance > this.options.keyframeThreshold) {
        return this.#replan('keyframe_mismatch', `subgoal ${this.#current}: reached frame is ${distance.toFixed(3)} from its keyframe (threshold ${this.options.keyframeThreshold})`);
      }
    }
    if (this.#current + 1 < this.#subgoals.length) return this.#activate(this.#current + 1);
    this.#finish('succeeded', `all ${this.#subgoals.length} subgoals done`);
  }

  #replan(reason: ReplanReason, detail: string): void {
    if (this.#stopped) return;
    if (this.#attempt >= this.options.maxReplans) {
      return this.#finish('failed', `${reason}: ${detail} (re-plan budget of ${this.options.maxReplans} spent)`);
    }
    this.#attempt += 1;
    this.emit({ type: 'replan', attempt: this.#attempt, reason, detail });
    this.#plan(reason);
  }

  #finish(outcome: 'succeeded' | 'failed', detail: string): void {
    this.emit({ type: 'finished', outcome, replans: this.#attempt, detail });
    this.stop();
    this.complete();
  }
}
