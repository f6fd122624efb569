import { z } from 'zod';

/**
 * The plan as it leaves a planner for the outside world (bridge topics, bags, logs, msgpack, JSON).
 * JSON-safe and msgpack-safe by construction: numbers, strings, booleans and arrays only (no BigInt,
 * no typed arrays); keyframes travel as base64 PNG.
 */

/** ROS 2 `builtin_interfaces/Time`. */
export const StampSchema = z.object({
  sec: z.number().int(),
  nanosec: z.number().int().min(0).max(999_999_999),
});
export type Stamp = z.infer<typeof StampSchema>;

/** The camera frame a plan was made from. */
export const SourceFrameSchema = z.object({
  stamp: StampSchema,
  frameId: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
export type SourceFrame = z.infer<typeof SourceFrameSchema>;

/** A predicted keyframe: PNG bytes, base64. */
export const KeyframeSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  encoding: z.literal('png'),
  data: z.base64(),
});
export type Keyframe = z.infer<typeof KeyframeSchema>;

export const SUBGOAL_STATUSES = ['pending', 'active', 'done', 'failed'] as const;
export const SubgoalStatusSchema = z.enum(SUBGOAL_STATUSES);
export type SubgoalStatus = z.infer<typeof SubgoalStatusSchema>;

export const SubgoalSchema = z.object({
  index: z.number().int().nonnegative(),
  instruction: z.string(),
  keyframe: KeyframeSchema.optional(),
  status: SubgoalStatusSchema,
});
export type Subgoal = z.infer<typeof SubgoalSchema>;

export const PlanTimingSchema = z.object({
  /** Wall-clock start of planning. @unit ms since the Unix epoch */
  startedAtMs: z.number(),
  /** Time from request to this snapshot. @unit ms */
  elapsedMs: z.number().nonnegative(),
  /** Time from request to the first subgoal, once one exists. @unit ms */
  firstSubgoalMs: z.number().nonnegative().optional(),
});
export type PlanTiming = z.infer<typeof PlanTimingSchema>;

export const PlanUsageSchema = z.object({
  generatedTokens: z.number().int().nonnegative(),
  forwardPasses: z.number().int().nonnegative(),
});
export type PlanUsage = z.infer<typeof PlanUsageSchema>;

export const PlanSchema = z
  .object({
    planId: z.string().min(1),
    goal: z.string(),
    planner: z.string(),
    source: SourceFrameSchema,
    /** Ordered; `subgoals[i].index === i`. */
    subgoals: z.array(SubgoalSchema),
    /** False while the plan is still forming. */
    complete: z.boolean(),
    /** The model's token budget ran out before its plan ended: the last subgoal may be cut off. */
    truncated: z.boolean(),
    timing: PlanTimingSchema,
    usage: PlanUsageSchema.optional(),
  })
  .refine((p) => p.subgoals.every((s, i) => s.index === i), {
    message: 'subgoals must be ordered with index === position',
    path: ['subgoals'],
  });
export type Plan = z.infer<typeof PlanSchema>;

/** Milliseconds since the epoch → ROS time. */
export function stampFromMs(ms: number): Stamp {
  const sec = Math.floor(ms / 1000);
  return { sec, nanosec: Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)) };
}

/** ROS time → milliseconds since the epoch. */
export function stampToMs(stamp: Stamp): number {
  return stamp.sec * 1000 + stamp.nanosec / 1e6;
}
