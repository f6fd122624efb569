import { from, Observable, type SchedulerLike, type Subscription, timer } from 'rxjs';
import { z } from 'zod';
import { AbortError, InputError, parseOrThrow, SdkError, TimeoutError } from '../sdk/errors.ts';
import type { RgbImage } from '../sdk/image/RgbImage.ts';
import { canonicalGoal } from './canonicalGoal.ts';
import { FramePrepSchema, prepareFrame } from './prepareFrame.ts';
import { type FrameComparator, frameDistance, patchDistance } from './frameDistance.ts';
import type { PlannedSubgoal, Planner, PlanProgress } from './Planner.ts';

/** What the low-level controller reports about the subgoal it was given. */
export type ControllerFeedback =
  | { type: 'done'; index: number; /** The frame reached; default: the newest camera frame. */ frame?: RgbImage }
  | { type: 'failed'; index: number; reason?: string };

export const REPLAN_REASONS = ['failed', 'timeout', 'keyframe_mismatch', 'planner_error', 'empty_plan', 'goal_not_reached'] as const;
export type ReplanReason = (typeof REPLAN_REASONS)[number];

/**
 * How an execution ended: every subgoal done (`succeeded`), a plan made and handed over without
 * following it (`planned`, when there is no controller feedback), or given up (`failed`).
 */
export type ExecutionOutcome = 'succeeded' | 'planned' | 'failed';

/** What the executor tells the outside world, in order. */
export type ExecutorEvent =
  | {
      type: 'planning';
      attempt: number;
      /** `next_part`: the previous part of an `A, then B` goal is done and the next is planned. */
      reason: ReplanReason | 'initial' | 'next_part';
      /** The goal (or, with `chainGoals`, the part of it) this plan is for. */
      goal: string;
    }
  | {
      type: 'plan';
      attempt: number;
      plan: PlanProgress;
      /** The camera frame this plan is made from. */
      frame: RgbImage;
      /** Request → complete plan, on the complete emission. @unit ms */
      latencyMs?: number;
    }
  | { type: 'subgoal'; attempt: number; index: number; subgoal: PlannedSubgoal }
  | { type: 'replan'; attempt: number; reason: ReplanReason; detail: string }
  | {
      type: 'finished';
      outcome: ExecutionOutcome;
      replans: number;
      detail: string;
      /** Set when a failure was not worth re-planning: the planner's input error, or no camera frame (TimeoutError). */
      error?: SdkError;
    };

/**
 * The one re-plan policy of the closed loop. The bridge (`replan:` in its YAML), the evaluation
 * harness and the main job all take it from here, so a figure measured by `bench:planners` is the
 * behaviour `npm start` and `emu bridge` ship.
 */
export const PlanExecutorOptionsSchema = z
  .object({
    /** Re-plans allowed before giving up. @default 3 */
    maxReplans: z.number().int().nonnegative().describe('re-plans allowed before giving up').default(3),
    /** A subgoal not reported done within this time triggers a re-plan. @default 30000 @unit ms */
    subgoalTimeoutMs: z.number().positive().describe('a subgoal not done within this time (ms) triggers a re-plan').default(30_000),
    /** Re-plan when a done subgoal's reached frame is farther than this from its keyframe (1 disables). @default 0.06 */
    keyframeThreshold: z.number().min(0).max(1).describe('re-plan when a reached frame is farther than this from its keyframe (1 disables)').default(0.06),
    /**
     * How a reached frame is compared with its keyframe: `patch` (the worst of 8×8 regions, brightness
     * offsets removed: one block out of place shows) or `mean` (the whole-frame mean, which one block
     * moves by about 1/32). @default 'patch'
     */
    keyframeCompare: z.enum(['patch', 'mean']).describe("reached-vs-keyframe distance: 'patch' (worst region) or 'mean' (whole frame)").default('patch'),
    /** How long a (re-)plan waits for a camera frame before the execution fails. @default 5000 @unit ms */
    frameWaitMs: z.number().positive().describe('how long a (re-)plan waits for a camera frame (ms)').default(5000),
    /** Rewrite the operator's wording into the planners' grammar first (planners/canonicalGoal.ts). @default true */
    canonicalGoal: z.boolean().describe("rewrite the goal's wording into the planners' grammar (synonyms, politeness, clause order, typos)").default(true),
    /** Plan a goal of `A, then B, …` one part at a time, each with its own re-plan budget. @default true */
    chainGoals: z.boolean().describe("plan an 'A, then B' goal one part at a time, each from the newest frame").default(true),
    /** How camera frames are prepared before planning and before a reached frame is compared with its keyframe. */
    frame: FramePrepSchema.prefault({}),
  })
  .strict();
export type PlanExecutorPolicy = z.output<typeof PlanExecutorOptionsSchema>;
export type PlanExecutorOptions = z.input<typeof PlanExecutorOptionsSchema> & {
  /** Reached-frame vs keyframe distance in [0,1]. @default patchDistance (`keyframeCompare`) */
  compare?: FrameComparator;
  /** Timer scheduler; a TestScheduler runs the executor on virtual time. */
  scheduler?: SchedulerLike;
};

export interface ExecutionInput {
  goal: string;
  /** Camera frames; the newest is used for every (re)plan. */
  frames: Observable<RgbImage>;
  /** Controller reports. Without them the executor plans (re-planning on planner errors) and hands the plan over. */
  feedback?: Observable<ControllerFeedback>;
  /**
   * Checked after the last subgoal is done; `false` re-plans (`goal_not_reached`). A robot with a
   * success detector, or the simulator's judge, plugs in here. Default: done means reached.
   */
  goalReached?: () => boolean;
}

/**
 * The closed loop, the only one: plans from the newest frame, publishes the current subgoal,
 * advances on `done`, and re-plans from the newest frame on `failed`, on a subgoal timeout, when
 * the frame reached departs from the subgoal's keyframe, on a planner error or an empty plan, or
 * when the goal is not reached at the end. Re-plans are bounded by `maxReplans`; a planner's
 * input error (a bad goal) is not retried. Cold: each subscription runs one execution; unsubscribing
 * aborts the planner (its `AbortSignal`) and stops the timers.
 *
 * @example
 * new PlanExecutor(planner, { maxReplans: 2 }).run({ goal, frames: camera$, feedback: controller$ }).subscribe(publish);
 */
export class PlanExecutor {
  readonly #planner: Planner;
  readonly #options: PlanExecutorPolicy;
  readonly #compare: FrameComparator;
  readonly #scheduler: SchedulerLike | undefined;

  constructor(planner: Planner, options: PlanExecutorOptions = {}) {
    const { compare, scheduler, ...rest } = options;
    this.#planner = planner;
    this.#options = parseOrThrow(PlanExecutorOptionsSchema, rest, 'PlanExecutor options');
    this.#compare = compare ?? (this.#options.keyframeCompare === 'patch' ? patchDistance : frameDistance);
    this.#scheduler = scheduler;
  }

  get policy(): Readonly<PlanExecutorPolicy> {
    return this.#options;
  }

  run(input: ExecutionInput): Observable<ExecutorEvent> {
    return new Observable<ExecutorEvent>((subscriber) => {
      const goal = this.#options.canonicalGoal ? canonicalGoal(input.goal) : input.goal;
      const parts = this.#options.chainGoals ? goalParts(goal) : [goal];
      const run = new Execution(this.#planner, this.#options, this.#compare, this.#scheduler, input, parts, (e) => subscriber.next(e), () => subscriber.complete());
      run.start();
      return () => run.stop();
    });
  }
}

function sameInstructions(subgoals: readonly PlannedSubgoal[], expected: readonly string[]): boolean {
  return subgoals.length === expected.length && subgoals.every((g, i) => g.instruction.trim().toLowerCase() === expected[i]!.trim().toLowerCase());
}

/** `A, then B, then C` → its parts; a goal without one is a single part. */
export function goalParts(goal: string): string[] {
  return goal.split(/\s*,\s*then\s+/).map((p) => p.trim()).filter((p) => p.length > 0);
}

/** One execution's state machine: planning → executing subgoal i → (advance | re-plan) → finished. */
class Execution {
  #latestFrame: RgbImage | undefined;
  #attempt = 0;
  /** Re-plans spent, over every part. */
  #replans = 0;
  #part = 0;
  /** After a keyframe mismatch: the instructions the old plan had left, and the one that mismatched. */
  #expected: string[] | undefined;
  #mismatched: string | undefined;
  /** The subgoal whose keyframe a confirming re-plan made moot (index in the current plan), or -1. */
  #trusted = -1;
  #subgoals: PlannedSubgoal[] = [];
  #current = -1;
  #stopped = false;
  #planAbort: AbortController | undefined;
  #framesSub: Subscription | undefined;
  #feedbackSub: Subscription | undefined;
  #planSub: Subscription | undefined;
  #timerSub: Subscription | undefined;
  #waitSub: Subscription | undefined;

  constructor(
    private readonly planner: Planner,
    private readonly options: PlanExecutorPolicy,
    private readonly compare: FrameComparator,
    private readonly scheduler: SchedulerLike | undefined,
    private readonly input: ExecutionInput,
    private readonly parts: readonly string[],
    private readonly emit: (e: ExecutorEvent) => void,
    private readonly complete: () => void,
  ) {}

  start(): void {
    this.#framesSub = this.input.frames.subscribe((f) => (this.#latestFrame = this.#prepare(f)));
    this.#feedbackSub = this.input.feedback?.subscribe((f) => this.#onFeedback(f));
    this.#plan('initial');
  }

  /** A camera frame as the planner and the keyframe check see it (letterbox cropped, colour calibrated). */
  #prepare(frame: RgbImage): RgbImage {
    return prepareFrame(frame, this.options.frame);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#planAbort?.abort(new AbortError('plan execution stopped'));
    for (const s of [this.#framesSub, this.#feedbackSub, this.#planSub, this.#timerSub, this.#waitSub]) s?.unsubscribe();
  }

  #plan(reason: ReplanReason | 'initial' | 'next_part'): void {
    this.#current = -1;
    this.#timerSub?.unsubscribe();
    this.emit({ type: 'planning', attempt: this.#attempt, reason, goal: this.parts[this.#part]! });
    if (this.#latestFrame) return this.#planFrom(this.#latestFrame);
    const wait = this.options.frameWaitMs;
    this.#timerSub = timer(wait, this.scheduler).subscribe(() =>
      this.#finish('failed', `no camera frame within ${wait} ms`, new TimeoutError(`no camera frame within ${wait} ms`)),
    );
    this.#waitSub = this.input.frames.subscribe((f) => {
      this.#waitSub?.unsubscribe();
      this.#timerSub?.unsubscribe();
      if (!this.#stopped && this.#current === -1) this.#planFrom(this.#prepare(f));
    });
  }

  #planFrom(frame: RgbImage): void {
    this.#planAbort?.abort(new AbortError('superseded by a re-plan'));
    const abort = new AbortController();
    this.#planAbort = abort;
    const request = { frame, goal: this.parts[this.#part]! };
    const options = { signal: abort.signal };
    const started = performance.now();
    const stream: Observable<PlanProgress> = this.planner.planStream
      ? this.planner.planStream(request, options)
      : from(this.planner.plan(request, options).then((r) => ({ subgoals: r.subgoals, complete: true, ...(r.usage ? { usage: r.usage } : {}) })));
    const attempt = this.#attempt;
    let last: PlanProgress | undefined;
    this.#planSub?.unsubscribe();
    this.#planSub = stream.subscribe({
      next: (plan) => {
        last = plan;
        this.emit({ type: 'plan', attempt, plan, frame, ...(plan.complete ? { latencyMs: performance.now() - started } : {}) });
      },
      error: (err) => this.#onPlannerError(err),
      complete: () => {
        // A part of a chained goal with nothing to do (it already holds) is done; a whole goal is not.
        if ((!last || last.subgoals.length === 0) && this.parts.length > 1 && this.input.feedback) return this.#partDone();
        if (!last || last.subgoals.length === 0) return this.#replan('empty_plan', 'the planner returned no subgoals');
        // A re-plan after a keyframe mismatch that only repeats the rest of the old plan confirms the
        // scene is as planned (the predicted keyframe was off, not the world): it is not charged.
        // One that repeats the subgoal just done has seen the reached frame and still wants it: that
        // subgoal's keyframe is not checked again (the check would only repeat its own error).
        const expected = this.#expected;
        const mismatched = this.#mismatched;
        this.#expected = this.#mismatched = undefined;
        this.#trusted = -1;
        const repeats = mismatched !== undefined && last.subgoals[0]?.instruction.trim().toLowerCase() === mismatched.trim().toLowerCase();
        if (repeats) this.#trusted = 0;
        if (repeats || (expected && expected.length > 0 && sameInstructions(last.subgoals, expected))) {
          this.#attempt -= 1;
          this.#replans -= 1;
        }
        this.#subgoals = last.subgoals;
        if (!this.input.feedback) return this.#finish('planned', `plan of ${last.subgoals.length} subgoals handed over`);
        this.#activate(0);
      },
    });
  }

  #onPlannerError(err: unknown): void {
    if (this.#stopped) return;
    // A bad request (an empty or overlong goal, a frame that is not RGB8) fails the same way every time.
    if (err instanceof InputError) return this.#finish('failed', err.message, err);
    this.#replan('planner_error', (err as Error)?.message ?? String(err));
  }

  #activate(index: number): void {
    this.#current = index;
    // The timer starts before the event goes out: a controller may answer synchronously.
    this.#timerSub?.unsubscribe();
    this.#timerSub = timer(this.options.subgoalTimeoutMs, this.scheduler).subscribe(() =>
      this.#replan('timeout', `subgoal ${index} not done within ${this.options.subgoalTimeoutMs} ms`),
    );
    this.emit({ type: 'subgoal', attempt: this.#attempt, index, subgoal: this.#subgoals[index]! });
  }

  #onFeedback(feedback: ControllerFeedback): void {
    if (this.#stopped || this.#current < 0 || feedback.index !== this.#current) return;
    if (feedback.type === 'failed') return this.#replan('failed', `controller failed subgoal ${feedback.index}${feedback.reason ? `: ${feedback.reason}` : ''}`);
    const subgoal = this.#subgoals[this.#current]!;
    const reached = feedback.frame ? this.#prepare(feedback.frame) : this.#latestFrame;
    const trusted = this.#trusted === this.#current;
    if (trusted) this.#trusted = -1;
    if (subgoal.keyframe && reached && !trusted) {
      const distance = this.compare(reached, subgoal.keyframe);
      if (distance > this.options.keyframeThreshold) {
        // What the old plan still had to do: a re-plan that proposes the same was the keyframe's error.
        this.#expected = this.#subgoals.slice(this.#current + 1).map((g) => g.instruction);
        this.#mismatched = subgoal.instruction;
        return this.#replan('keyframe_mismatch', `subgoal ${this.#current}: reached frame is ${distance.toFixed(3)} from its keyframe (threshold ${this.options.keyframeThreshold})`);
      }
    }
    if (this.#current + 1 < this.#subgoals.length) return this.#activate(this.#current + 1);
    this.#partDone();
  }

  /** The current part's plan is done: plan the next part, or check the whole goal. */
  #partDone(): void {
    if (this.#part + 1 < this.parts.length) {
      // The next part plans from the newest frame, with a fresh re-plan budget.
      this.#part++;
      this.#attempt = 0;
      return this.#plan('next_part');
    }
    if (this.input.goalReached && !this.input.goalReached()) {
      // Something undid an earlier part (or a plan fell short): work through the parts again.
      this.#part = 0;
      return this.#replan('goal_not_reached', `all ${this.#subgoals.length} subgoals done but the goal does not hold`);
    }
    this.#finish('succeeded', `all ${this.#subgoals.length} subgoals done`);
  }

  #replan(reason: ReplanReason, detail: string): void {
    if (this.#stopped) return;
    // Each part has `maxReplans`; all parts together no more than that many each (a chain that keeps coming undone ends).
    if (this.#attempt >= this.options.maxReplans || this.#replans >= this.options.maxReplans * this.parts.length) {
      return this.#finish('failed', `${reason}: ${detail} (re-plan budget of ${this.options.maxReplans} spent)`);
    }
    this.#attempt += 1;
    this.#replans += 1;
    this.emit({ type: 'replan', attempt: this.#attempt, reason, detail });
    this.#plan(reason);
  }

  #finish(outcome: ExecutionOutcome, detail: string, error?: SdkError): void {
    if (this.#stopped) return;
    this.emit({ type: 'finished', outcome, replans: this.#replans, detail, ...(error ? { error } : {}) });
    this.stop();
    this.complete();
  }
}
