/**
 * `emu-robotics/planners`: frame + goal in, a plan of language subgoals (each with a predicted
 * keyframe) out, and the one closed loop that follows a plan against a controller.
 *
 * @example
 * import { EmuVlaPlanner, PlanExecutor } from 'emu-robotics/planners';
 * const planner = new EmuVlaPlanner(backend);
 * new PlanExecutor(planner).run({ goal, frames: camera$, feedback: controller$ }).subscribe(console.log);
 */

// The planner interface: where a new planner goes (implement `Planner`)
export type { Planner, PlanRequest, PlanResult, PlanProgress, PlanOptions, PlannedSubgoal } from './Planner.ts';
export { EmuVlaPlanner, EmuVlaPlannerOptionsSchema } from './EmuVlaPlanner.ts';
export type { EmuVlaPlannerOptions } from './EmuVlaPlanner.ts';
export { OraclePlanner } from './OraclePlanner.ts';
export type { OraclePlannerOptions, OracleSolver } from './OraclePlanner.ts';
export { TrivialPlanner } from './TrivialPlanner.ts';
export type { TrivialPlannerOptions } from './TrivialPlanner.ts';
export { checkGoal, MAX_GOAL_CHARS } from './goal.ts';

// The closed loop
export { PlanExecutor, PlanExecutorOptionsSchema, REPLAN_REASONS } from './PlanExecutor.ts';
export type { ControllerFeedback, ExecutorEvent, ExecutionInput, ExecutionOutcome, PlanExecutorOptions, PlanExecutorPolicy, ReplanReason } from './PlanExecutor.ts';
export { frameDistance, patchDistance } from './frameDistance.ts';
export type { FrameComparator } from './frameDistance.ts';

// The plan as it leaves the process (one schema; the bridge derives the ROS forms from it)
export { PlanSchema, SubgoalSchema, SubgoalStatusSchema, KeyframeSchema, SourceFrameSchema, StampSchema, SUBGOAL_STATUSES, stampFromMs, stampToMs } from './Plan.ts';
export type { Plan, Subgoal, SubgoalStatus, Keyframe, SourceFrame, Stamp, PlanTiming, PlanUsage } from './Plan.ts';
export { encodeKeyframe, decodeKeyframe } from './keyframeCodec.ts';
