import { z } from 'zod';
import { type Stamp, StampSchema } from '../../planners/Plan.ts';

/**
 * Our own shapes of the ROS 2 messages the bridge speaks (rclnodejs types are `any` without a ROS
 * install). Field names follow the .msg files exactly so the same object serves rclnodejs and CDR.
 * Inputs get zod schemas (they cross a boundary); outputs are built by us and only typed.
 */

/** `builtin_interfaces/msg/Time`: the plan schema's Stamp (one schema). */
export const TimeSchema = StampSchema;
export type Time = Stamp;

export const HeaderSchema = z.object({ stamp: TimeSchema, frame_id: z.string() });
export type Header = z.infer<typeof HeaderSchema>;

/** uint8[]: a Uint8Array (rclnodejs typed arrays, CDR) or a plain number array (rclnodejs without typed arrays). */
const bytes = z
  .custom<Uint8Array | number[]>((v) => v instanceof Uint8Array || Array.isArray(v), 'expected a byte array (Uint8Array or number[])')
  .transform((v) => (v instanceof Uint8Array ? v : Uint8Array.from(v)));

/** `sensor_msgs/msg/Image`. */
export const ImageMsgSchema = z.object({
  header: HeaderSchema,
  height: z.number().int().nonnegative(),
  width: z.number().int().nonnegative(),
  encoding: z.string(),
  is_bigendian: z.number().int(),
  step: z.number().int().nonnegative(),
  data: bytes,
});
export type ImageMsg = z.infer<typeof ImageMsgSchema>;

/** `sensor_msgs/msg/CompressedImage`. */
export const CompressedImageMsgSchema = z.object({ header: HeaderSchema, format: z.string(), data: bytes });
export type CompressedImageMsg = z.infer<typeof CompressedImageMsgSchema>;

/** `std_msgs/msg/String`. */
export const StringMsgSchema = z.object({ data: z.string() });
export type StringMsg = z.infer<typeof StringMsgSchema>;

/** `emu_robotics_msgs/msg/Subgoal` status constants. */
export const SUBGOAL_STATUS_CODES = { pending: 0, active: 1, done: 2, failed: 3 } as const;

/** `emu_robotics_msgs/msg/Subgoal`. */
export interface SubgoalMsg {
  plan_id: string;
  index: number;
  instruction: string;
  status: number;
  has_keyframe: boolean;
  /** PNG (`format: "png"`); empty when `has_keyframe` is false. */
  keyframe: CompressedImageMsg;
}

/** `emu_robotics_msgs/msg/Plan`. `header` is the source camera frame's stamp and frame_id. */
export interface PlanMsg {
  header: Header;
  plan_id: string;
  goal: string;
  planner: string;
  source_width: number;
  source_height: number;
  subgoals: SubgoalMsg[];
  complete: boolean;
  elapsed_ms: number;
  /** -1 until the first subgoal exists. */
  first_subgoal_ms: number;
  generated_tokens: number;
  forward_passes: number;
}

/** `emu_robotics_msgs/msg/BridgeStatus` state constants. */
export const BRIDGE_STATES = { idle: 0, waiting_for_frame: 1, planning: 2, error: 3 } as const;
export type BridgeState = keyof typeof BRIDGE_STATES;

/** `emu_robotics_msgs/msg/BridgeStatus`. */
export interface BridgeStatusMsg {
  header: Header;
  state: number;
  state_name: string;
  plan_id: string;
  goal: string;
  /** `SdkError` code of the latest problem, '' when none. */
  error_code: string;
  error_message: string;
  frames_received: number;
  frames_rejected: number;
  goals_received: number;
  goals_rejected: number;
  plans_completed: number;
  plans_cancelled: number;
  plans_failed: number;
}

/** `emu_robotics_msgs/action/PlanTask` parts. */
export interface PlanTaskGoal {
  instruction: string;
}
export const PlanTaskGoalSchema = z.object({ instruction: z.string() });
export interface PlanTaskFeedback {
  partial_plan: PlanMsg;
  current_subgoal: SubgoalMsg;
}
export interface PlanTaskResult {
  plan: PlanMsg;
}
