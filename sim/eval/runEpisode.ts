import { BehaviorSubject, Subject } from 'rxjs';
import { type ControllerFeedback, type ExecutorEvent, PlanExecutor, type PlanExecutorOptions } from '../../planners/PlanExecutor.ts';
import type { PlannedSubgoal, Planner } from '../../planners/Planner.ts';
import { encodePng } from '../../sdk/image/encodePng.ts';
import { layoutAgreement } from '../perception/layoutAgreement.ts';
import { perceiveLayout } from '../perception/perceiveLayout.ts';
import { psnr } from '../perception/psnr.ts';
import { executeSubgoal } from '../skills/executeSubgoal.ts';
import { allHold, holds } from '../tasks/predicates.ts';
import { StageTracker } from '../tasks/stages.ts';
import type { Layout } from '../world/Layout.ts';
import type { Episode } from '../tasks/suites.ts';
import { SimWorld } from '../world/SimWorld.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import type { WorldView } from './WorldView.ts';
import { imageFromCompressedRos } from '../../bridge/messages/imageFromRos.ts';
import { captureFrame } from '../sensors/camera.ts';
import { Prng } from '../world/Prng.ts';
import { TABLE_RGB } from '../world/colours.ts';
import { disturbLayout } from './disturb.ts';
import { patchDistance } from '../../planners/frameDistance.ts';
import { prepareFrame } from '../../planners/prepareFrame.ts';

export interface EpisodeOptions {
  /** Rigid-body physics for the skills. @default true */
  physics?: boolean;
  /** The closed loop's re-plan policy (PlanExecutor's schema and defaults: the one the bridge ships). */
  replan?: PlanExecutorOptions;
  /** Where privileged planners (the oracle) see the episode's true state; attached for the episode. */
  view?: WorldView;
  /** Keep PNG data URIs of the start frame, planned keyframes and reached frames (report strips). */
  keepFrames?: boolean;
  /** Give the loop the judge as its success detector (`goalReached`). @default true */
  goalCheck?: boolean;
  signal?: AbortSignal;
}

export interface SubgoalRecord {
  instruction: string;
  ok: boolean;
  reason?: string;
  /** Layout agreement (perception of the planned keyframe vs the state reached), when a keyframe was planned. */
  keyframeAgreement?: number;
  /** @unit dB; Infinity when identical */
  keyframePsnr?: number;
  planned?: string;
  reached?: string;
  /** The loop's reached-vs-keyframe distance (patchDistance of the frame the camera gave), when a keyframe was planned. */
  keyframeDistance?: number;
  /** The `perturb` disturbance applied after (or, `silent_fail`, instead of) this subgoal. */
  disturbance?: string;
}

export interface EpisodeResult {
  id: string;
  suite: string;
  split: string;
  seed: number;
  family: string;
  goal: string;
  success: boolean;
  /** Goal predicates (the task's chain length). */
  chainLength: number;
  /**
   * Leading goal predicates that hold at the end (CALVIN-style completed chain length); for a staged goal,
   * the predicates of the parts that held in order along the episode.
   */
  completed: number;
  plans: number;
  /** Re-plans the loop made, and why (`failed`, `keyframe_mismatch`, `goal_not_reached`, …). */
  replanReasons: string[];
  /** @unit ms */
  planLatenciesMs: number[];
  subgoals: SubgoalRecord[];
  start?: string;
  error?: string;
}

/**
 * One episode through the shipped closed loop: the simulator is the robot (its camera feeds
 * `PlanExecutor`, its skill controller executes each active subgoal and reports back), and the
 * simulator's judge says whether the goal holds once the plan is done. Success is the goal's
 * predicates on the final true state.
 */
export async function runEpisode(episode: Episode, planner: Planner, options: EpisodeOptions = {}): Promise<EpisodeResult> {
  const world = await SimWorld.create(episode.layout, { physics: options.physics ?? true });
  options.view?.attach(world);
  const judge = new EpisodeJudge(episode);
  judge.observe(world.layout);
  const result: EpisodeResult = {
    id: episode.id,
    suite: episode.suite,
    split: episode.split,
    seed: episode.seed,
    family: episode.family,
    goal: episode.goal,
    success: false,
    chainLength: episode.predicates.length,
    completed: 0,
    plans: 0,
    replanReasons: [],
    planLatenciesMs: [],
    subgoals: [],
  };
  if (options.keepFrames) result.start = dataUri(world.render());
  try {
    const finished = await followPlans(world, episode, planner, options, result, judge);
    if (finished.type === 'finished' && finished.error && !judge.reached(world.layout)) result.error = finished.error.message;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    const final = world.layout;
    result.success = !result.error && judge.reached(final);
    result.completed = judge.completed(final);
    options.view?.detach(world);
    world.dispose();
  }
  return result;
}

/** Drives the executor: frames from the world, each active subgoal executed in turn, records kept. */
async function followPlans(world: SimWorld, episode: Episode, planner: Planner, options: EpisodeOptions, result: EpisodeResult, judge: EpisodeJudge): Promise<ExecutorEvent> {
  // What the robot's camera gives the loop: the render, or (camera suite) a JPEG decoded the way the
  // bridge decodes a CompressedImage. Scoring and the judge use the true state.
  let shots = 0;
  const observe = async (): Promise<RgbImage> => {
    if (!episode.camera) return world.render();
    const shot = await captureFrame(world.layout, episode.camera, Prng.from('camera', episode.id, shots++));
    return imageFromCompressedRos({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'camera' }, format: shot.format, data: shot.data });
  };
  const disturbRng = Prng.from('disturb', episode.id);
  let executed = 0;
  const frames = new BehaviorSubject<RgbImage>(await observe());
  const feedback = new Subject<ControllerFeedback>();
  // A letterboxing camera is configured as an integrator would: its bars cropped and its colour
  // calibrated to the table before planning.
  const policy = options.replan ?? {};
  const executor = new PlanExecutor(planner, episode.camera ? { ...policy, frame: { ...policy.frame, crop: 'letterbox', whiteReference: [...TABLE_RGB] as [number, number, number] } } : policy);
  return new Promise<ExecutorEvent>((resolve, reject) => {
    let chain = Promise.resolve();
    const onEvent = (event: ExecutorEvent): void => {
      if (event.type === 'plan' && event.plan.complete) {
        result.plans++;
        result.planLatenciesMs.push(event.latencyMs ?? 0);
      } else if (event.type === 'replan') {
        result.replanReasons.push(event.reason);
      } else if (event.type === 'subgoal') {
        // The controller answers after the event has gone out, as a robot would.
        chain = chain.then(() => execute(event.index, event.subgoal));
      } else if (event.type === 'finished') {
        chain.then(() => resolve(event), reject);
      }
    };
    const execute = async (index: number, subgoal: PlannedSubgoal): Promise<void> => {
      const disturbance = episode.disturbances?.find((d) => d.afterSubgoal === executed);
      executed++;
      // A silent failure: the controller says done and nothing moved.
      const step = disturbance?.kind === 'silent_fail' ? ({ ok: true } as const) : executeSubgoal(world, subgoal.instruction);
      const record: SubgoalRecord = { instruction: subgoal.instruction, ok: step.ok };
      if (!step.ok) record.reason = step.reason;
      if (disturbance) {
        const next = disturbLayout(world.layout, episode.predicates, disturbance.kind, disturbRng);
        if (next) await world.replace(next);
        record.disturbance = disturbance.kind;
      }
      judge.observe(world.layout);
      const truth = world.render();
      if (subgoal.keyframe) scoreKeyframe(record, subgoal.keyframe, truth, options.keepFrames);
      else if (options.keepFrames) record.reached = dataUri(truth);
      result.subgoals.push(record);
      const seen = await observe();
      // The frame as the loop prepares it before its own keyframe check.
      if (subgoal.keyframe) record.keyframeDistance = patchDistance(prepareFrame(seen, executor.policy.frame), subgoal.keyframe);
      frames.next(seen);
      feedback.next(step.ok ? { type: 'done', index, frame: seen } : { type: 'failed', index, reason: step.reason });
    };
    const onAbort = () => {
      sub.unsubscribe();
      reject(options.signal!.reason ?? new Error('aborted'));
    };
    const goalReached = options.goalCheck === false ? undefined : () => judge.reached(world.layout);
    const sub = executor.run({ goal: episode.goal, frames, feedback, ...(goalReached ? { goalReached } : {}) }).subscribe({ next: onEvent, error: reject });
    // One signal may span many episodes: the listener goes with its episode.
    options.signal?.addEventListener('abort', onAbort, { once: true });
    sub.add(() => options.signal?.removeEventListener('abort', onAbort));
  });
}

/** The simulator's judge: the goal's predicates on the final state, or a staged goal's parts in order along the episode. */
class EpisodeJudge {
  readonly #episode: Episode;
  readonly #stages: StageTracker | undefined;

  constructor(episode: Episode) {
    this.#episode = episode;
    this.#stages = episode.stages ? new StageTracker(episode.stages) : undefined;
  }

  /** Takes the layout after every change (the start, each executed subgoal and its disturbance). */
  observe(layout: Layout): void {
    this.#stages?.observe(layout);
  }

  reached(layout: Layout): boolean {
    return this.#stages ? this.#stages.done : allHold(layout, this.#episode.predicates);
  }

  completed(layout: Layout): number {
    if (this.#stages) return this.#stages.matchedPredicates;
    const first = this.#episode.predicates.findIndex((p) => !holds(layout, p));
    return first < 0 ? this.#episode.predicates.length : first;
  }
}

function scoreKeyframe(record: SubgoalRecord, planned: RgbImage, reachedFrame: RgbImage, keep?: boolean): void {
  const sameSize = planned.width === reachedFrame.width && planned.height === reachedFrame.height;
  record.keyframeAgreement = layoutAgreement(perceiveLayout(planned), perceiveLayout(reachedFrame));
  record.keyframePsnr = sameSize ? psnr(planned, reachedFrame) : undefined;
  if (keep) {
    record.planned = dataUri(planned);
    record.reached = dataUri(reachedFrame);
  }
}

function dataUri(frame: RgbImage): string {
  return `data:image/png;base64,${encodePng(frame).toString('base64')}`;
}
