import type { Planner } from '../../planners/Planner.ts';
import { encodePng } from '../export/encodePng.ts';
import { layoutAgreement } from '../perception/layoutAgreement.ts';
import { perceiveLayout } from '../perception/perceiveLayout.ts';
import { psnr } from '../perception/psnr.ts';
import { executeSubgoal } from '../skills/executeSubgoal.ts';
import { holds } from '../tasks/predicates.ts';
import type { Episode } from '../tasks/suites.ts';
import { SimWorld } from '../world/SimWorld.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';

export interface EpisodeOptions {
  /** Rigid-body physics for the skills. @default true */
  physics?: boolean;
  /** Extra planning rounds after a failed subgoal or an unreached goal. @default 1 */
  replans?: number;
  /** Keep PNG data URIs of the start frame, planned keyframes and reached frames (report strips). */
  keepFrames?: boolean;
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
  /** Leading goal predicates that hold at the end (CALVIN-style completed chain length). */
  completed: number;
  plans: number;
  /** @unit ms */
  planLatenciesMs: number[];
  subgoals: SubgoalRecord[];
  start?: string;
  error?: string;
}

/**
 * Closed loop for one episode: plan from the current frame (+ privileged true state), execute
 * subgoals one by one, re-plan (bounded) when a subgoal fails or the plan ends short of the goal.
 */
export async function runEpisode(episode: Episode, planner: Planner, options: EpisodeOptions = {}): Promise<EpisodeResult> {
  const world = await SimWorld.create(episode.layout, { physics: options.physics ?? true });
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
    planLatenciesMs: [],
    subgoals: [],
  };
  if (options.keepFrames) result.start = dataUri(world.render());
  const reached = () => episode.predicates.every((p) => holds(world.layout, p));
  try {
    for (let round = 0; round <= (options.replans ?? 1) && !reached(); round++) {
      const frame = world.render();
      const plan = await planner.plan({ frame, goal: episode.goal, privileged: { layout: world.layout } }, { signal: options.signal });
      result.plans++;
      result.planLatenciesMs.push(plan.latencyMs);
      if (plan.subgoals.length === 0) break;
      let failed = false;
      for (const subgoal of plan.subgoals) {
        const step = executeSubgoal(world, subgoal.instruction);
        const record: SubgoalRecord = { instruction: subgoal.instruction, ok: step.ok };
        if (!step.ok) record.reason = step.reason;
        if (subgoal.keyframe) scoreKeyframe(record, subgoal.keyframe, step.frame, options.keepFrames);
        else if (options.keepFrames) record.reached = dataUri(step.frame);
        result.subgoals.push(record);
        if (!step.ok) {
          failed = true;
          break;
        }
      }
      if (failed && round === (options.replans ?? 1)) break;
    }
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    const final = world.layout;
    result.success = !result.error && episode.predicates.every((p) => holds(final, p));
    result.completed = episode.predicates.findIndex((p) => !holds(final, p));
    if (result.completed < 0) result.completed = episode.predicates.length;
    world.dispose();
  }
  return result;
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
