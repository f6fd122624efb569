import { SUBGOAL_STATUSES } from '../../planners/Plan.ts';

/**
 * Every ROS 2 type the bridge reads or writes, defined once as a field table. From it come the
 * canonical `.msg` text (the interface package's files are checked against it by a test), the
 * `ros2msg` complete definitions MCAP/rosbag2 store per schema, and the TypeScript message types
 * (`RosMessage<…>` in rosTypes.ts). Status constants come from the plan schema's own enums.
 * Written here rather than by @foxglove/rosmsg's stringify, which emits ROS 1 `time`.
 */

export const ROS_TYPES = [
  'builtin_interfaces/msg/Time',
  'std_msgs/msg/Header',
  'std_msgs/msg/String',
  'sensor_msgs/msg/Image',
  'sensor_msgs/msg/CompressedImage',
  'emu_robotics_msgs/msg/Subgoal',
  'emu_robotics_msgs/msg/Plan',
  'emu_robotics_msgs/msg/BridgeStatus',
] as const;
export type RosTypeName = (typeof ROS_TYPES)[number];

/** The bridge's states, in their wire order (`emu_robotics_msgs/msg/BridgeStatus` STATE_*). */
export const BRIDGE_STATE_NAMES = ['idle', 'waiting_for_frame', 'planning', 'error', 'inactive'] as const;

type Field = readonly [type: string, name: string];

/** Field tables: `[ROS type as written in a .msg, field name]`; nested types as `pkg/Type`. */
export const ROS_FIELDS = {
  'builtin_interfaces/msg/Time': [['int32', 'sec'], ['uint32', 'nanosec']],
  'std_msgs/msg/Header': [['builtin_interfaces/Time', 'stamp'], ['string', 'frame_id']],
  'std_msgs/msg/String': [['string', 'data']],
  'sensor_msgs/msg/Image': [
    ['std_msgs/Header', 'header'], ['uint32', 'height'], ['uint32', 'width'], ['string', 'encoding'],
    ['uint8', 'is_bigendian'], ['uint32', 'step'], ['uint8[]', 'data'],
  ],
  'sensor_msgs/msg/CompressedImage': [['std_msgs/Header', 'header'], ['string', 'format'], ['uint8[]', 'data']],
  'emu_robotics_msgs/msg/Subgoal': [
    ['string', 'plan_id'], ['uint32', 'index'], ['string', 'instruction'], ['uint8', 'status'],
    ['bool', 'has_keyframe'], ['sensor_msgs/CompressedImage', 'keyframe'],
  ],
  'emu_robotics_msgs/msg/Plan': [
    ['std_msgs/Header', 'header'], ['string', 'plan_id'], ['string', 'goal'], ['string', 'planner'],
    ['uint32', 'source_width'], ['uint32', 'source_height'], ['emu_robotics_msgs/Subgoal[]', 'subgoals'],
    ['bool', 'complete'], ['bool', 'truncated'], ['float64', 'elapsed_ms'], ['float64', 'first_subgoal_ms'],
    ['uint32', 'generated_tokens'], ['uint32', 'forward_passes'],
  ],
  'emu_robotics_msgs/msg/BridgeStatus': [
    ['std_msgs/Header', 'header'], ['uint8', 'state'], ['string', 'state_name'], ['string', 'plan_id'], ['string', 'goal'],
    ['string', 'error_code'], ['string', 'error_message'],
    ['uint32', 'frames_received'], ['uint32', 'frames_used'], ['uint32', 'frames_rejected'], ['uint32', 'frames_dropped'], ['uint32', 'goals_received'], ['uint32', 'goals_rejected'],
    ['uint32', 'plans_completed'], ['uint32', 'plans_cancelled'], ['uint32', 'plans_failed'],
  ],
} as const satisfies Record<RosTypeName, readonly Field[]>;

/** `uint8 NAME=value` lines, from the enums they mirror. */
const CONSTANTS: Partial<Record<RosTypeName, string[]>> = {
  'emu_robotics_msgs/msg/Subgoal': SUBGOAL_STATUSES.map((s, i) => `uint8 STATUS_${s.toUpperCase()}=${i}`),
  'emu_robotics_msgs/msg/BridgeStatus': BRIDGE_STATE_NAMES.map((s, i) => `uint8 STATE_${s.toUpperCase()}=${i}`),
};

const DELIMITER = '='.repeat(80);

/** `sensor_msgs/msg/Image` → `sensor_msgs/Image` (the form used inside definitions). */
export function shortTypeName(type: string): string {
  return type.replace('/msg/', '/');
}

/** `sensor_msgs/Image[]` → `sensor_msgs/msg/Image`, or undefined for a primitive. */
function nestedType(fieldType: string): RosTypeName | undefined {
  const base = fieldType.replace(/\[\]$/, '');
  if (!base.includes('/')) return undefined;
  const full = base.replace('/', '/msg/');
  if (!isRosTypeName(full)) throw new Error(`field type ${fieldType} is not one of ROS_TYPES`);
  return full;
}

/** The own `.msg` text of a type (what goes in the interface package). */
export function ownDefinition(type: RosTypeName): string {
  const fields = (ROS_FIELDS[type] as readonly Field[]).map(([t, n]) => `${t} ${n}`);
  return [...(CONSTANTS[type] ?? []), ...fields].join('\n');
}

/** The complete `ros2msg` definition stored as an MCAP schema for `type`. */
export function completeDefinition(type: RosTypeName): string {
  const order: RosTypeName[] = [];
  const visit = (t: RosTypeName) => {
    for (const [fieldType] of ROS_FIELDS[t] as readonly Field[]) {
      const dep = nestedType(fieldType);
      if (dep && !order.includes(dep)) {
        order.push(dep);
        visit(dep);
      }
    }
  };
  visit(type);
  return [ownDefinition(type), ...order.map((dep) => `${DELIMITER}\nMSG: ${shortTypeName(dep)}\n${ownDefinition(dep)}`)].join('\n');
}

export function isRosTypeName(name: string): name is RosTypeName {
  return (ROS_TYPES as readonly string[]).includes(name);
}

// ---- TypeScript types from the field tables ----

interface Primitives {
  bool: boolean;
  string: string;
  uint8: number;
  int32: number;
  uint32: number;
  float64: number;
  'uint8[]': Uint8Array;
}
type Fields = typeof ROS_FIELDS;
type FullName<T extends string> = T extends `${infer P}/${infer N}` ? `${P}/msg/${N}` : never;
type FieldValue<T extends string> = T extends keyof Primitives
  ? Primitives[T]
  : T extends `${infer Base}[]`
    ? FullName<Base> extends RosTypeName ? RosMessage<FullName<Base>>[] : never
    : FullName<T> extends RosTypeName ? RosMessage<FullName<T>> : never;

/** The plain-object shape of a ROS message, field for field (what rclnodejs and our CDR codec take). */
export type RosMessage<T extends RosTypeName> = { [F in Fields[T][number] as F[1]]: FieldValue<F[0]> };
