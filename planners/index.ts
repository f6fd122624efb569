export type { Planner, PlanRequest, PlanResult, PlanProgress, PlanOptions, PlannedSubgoal } from './Planner.ts';
export { EmuVlaPlanner, EmuVlaPlannerOptionsSchema } from './EmuVlaPlanner.ts';
export type { EmuVlaPlannerOptions } from './EmuVlaPlanner.ts';
export { OraclePlanner } from './OraclePlanner.ts';
export type { OraclePlannerOptions, OracleSolver } from './OraclePlanner.ts';
export { TrivialPlanner } from './TrivialPlanner.ts';
export type { TrivialPlannerOptions } from './TrivialPlanner.ts';
export { PlanExecutor, PlanExecutorOptionsSchema, REPLAN_REASONS } from './PlanExecutor.ts';
export type { ControllerFeedback, ExecutorEvent, ExecutionInput, ExecutionOutcome, PlanExecutorOptions, PlanExecutorPolicy, ReplanReason } from './PlanExecutor.ts';
export { parseVlaOutput } from './parseVlaOutput.ts';
export { frameDistance } from './frameDistance.ts';
export type { FrameComparator } from './frameDistance.ts';
export { encodeKeyframe, decodeKeyframe } from './keyframeCodec.ts';
export {
  PlanSchema, SubgoalSchema, SubgoalStatusSchema, KeyframeSchema, SourceFrameSchema, StampSchema, PlanTimingSchema, PlanUsageSchema,
  SUBGOAL_STATUSES, stampFromMs, stampToMs,
} from './Plan.ts';
export type { Plan, Subgoal, SubgoalStatus, Keyframe, SourceFrame, Stamp, PlanTiming, PlanUsage } from './Plan.ts';
