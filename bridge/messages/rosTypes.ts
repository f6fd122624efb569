import { z } from 'zod';
import { type Stamp, StampSchema, SUBGOAL_STATUSES, type SubgoalStatus } from '../../planners/Plan.ts';
import { BRIDGE_STATE_NAMES, type RosMessage } from './rosSchemas.ts';

/**
 * The ROS 2 messages the bridge speaks, as plain objects. Outputs are typed from the field tables in
 * rosSchemas.ts (one definition: .msg text, bag schemas and these types); inputs get zod schemas
 * because they cross a boundary, and a test checks those schemas' fields against the same tables.
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

/** `emu_robotics_msgs/msg/Subgoal` status constants: the plan schema's statuses in wire order. */
export const SUBGOAL_STATUS_CODES = Object.fromEntries(SUBGOAL_STATUSES.map((s, i) => [s, i])) as Record<SubgoalStatus, number>;

/** `emu_robotics_msgs/msg/Subgoal`: keyframe as PNG (`format: "png"`), empty when `has_keyframe` is false. */
export type SubgoalMsg = RosMessage<'emu_robotics_msgs/msg/Subgoal'>;

/** `emu_robotics_msgs/msg/Plan`: `header` is the source camera frame's stamp and frame_id; `first_subgoal_ms` is -1 until a subgoal exists. */
export type PlanMsg = RosMessage<'emu_robotics_msgs/msg/Plan'>;

/** `emu_robotics_msgs/msg/BridgeStatus` state constants. */
export const BRIDGE_STATES = Object.fromEntries(BRIDGE_STATE_NAMES.map((s, i) => [s, i])) as Record<BridgeState, number>;
export type BridgeState = (typeof BRIDGE_STATE_NAMES)[number];

/** `emu_robotics_msgs/msg/BridgeStatus`: `error_code` is the latest problem's SdkError code, '' when none. */
export type BridgeStatusMsg = RosMessage<'emu_robotics_msgs/msg/BridgeStatus'>;

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
