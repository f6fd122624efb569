import type { Plan, Subgoal } from '../../planners/Plan.ts';
import { type PlanMsg, SUBGOAL_STATUS_CODES, type SubgoalMsg } from './rosTypes.ts';

const EMPTY_IMAGE = { header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, format: '', data: new Uint8Array(0) };

/** Our Plan → `emu_robotics_msgs/msg/Plan`; the header carries the source frame's stamp and frame_id. */
export function planToRos(plan: Plan): PlanMsg {
  return {
    header: { stamp: plan.source.stamp, frame_id: plan.source.frameId },
    plan_id: plan.planId,
    goal: plan.goal,
    planner: plan.planner,
    source_width: plan.source.width,
    source_height: plan.source.height,
    subgoals: plan.subgoals.map((s) => subgoalToRos(plan, s)),
    complete: plan.complete,
    truncated: plan.truncated,
    elapsed_ms: plan.timing.elapsedMs,
    first_subgoal_ms: plan.timing.firstSubgoalMs ?? -1,
    generated_tokens: plan.usage?.generatedTokens ?? 0,
    forward_passes: plan.usage?.forwardPasses ?? 0,
  };
}

/** One subgoal → `emu_robotics_msgs/msg/Subgoal`, keyframe as a PNG CompressedImage stamped like the plan. */
export function subgoalToRos(plan: Plan, subgoal: Subgoal): SubgoalMsg {
  return {
    plan_id: plan.planId,
    index: subgoal.index,
    instruction: subgoal.instruction,
    status: SUBGOAL_STATUS_CODES[subgoal.status],
    has_keyframe: subgoal.keyframe !== undefined,
    keyframe: subgoal.keyframe
      ? {
          header: { stamp: plan.source.stamp, frame_id: plan.source.frameId },
          format: 'png',
          data: new Uint8Array(Buffer.from(subgoal.keyframe.data, 'base64')),
        }
      : EMPTY_IMAGE,
  };
}
