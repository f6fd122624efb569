/**
 * Canonical ROS 2 `.msg` text of every type the bridge reads or writes, and the `ros2msg` complete
 * definitions MCAP/rosbag2 store per schema: the type's own text, then each dependency once after
 * an 80-`=` line and `MSG: pkg/Type`. Written by hand because @foxglove/rosmsg's stringify emits
 * ROS 1 `time` for `builtin_interfaces/Time`.
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

interface TypeText {
  text: string;
  deps: RosTypeName[];
}

/** Own text of each type; field types use `pkg/Type` so the text is valid both in a package and in a bag. */
const OWN: Record<RosTypeName, TypeText> = {
  'builtin_interfaces/msg/Time': { text: 'int32 sec\nuint32 nanosec', deps: [] },
  'std_msgs/msg/Header': { text: 'builtin_interfaces/Time stamp\nstring frame_id', deps: ['builtin_interfaces/msg/Time'] },
  'std_msgs/msg/String': { text: 'string data', deps: [] },
  'sensor_msgs/msg/Image': {
    text: 'std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\nuint32 step\nuint8[] data',
    deps: ['std_msgs/msg/Header'],
  },
  'sensor_msgs/msg/CompressedImage': { text: 'std_msgs/Header header\nstring format\nuint8[] data', deps: ['std_msgs/msg/Header'] },
  'emu_robotics_msgs/msg/Subgoal': {
    text: [
      'uint8 STATUS_PENDING=0',
      'uint8 STATUS_ACTIVE=1',
      'uint8 STATUS_DONE=2',
      'uint8 STATUS_FAILED=3',
      'string plan_id',
      'uint32 index',
      'string instruction',
      'uint8 status',
      'bool has_keyframe',
      'sensor_msgs/CompressedImage keyframe',
    ].join('\n'),
    deps: ['sensor_msgs/msg/CompressedImage'],
  },
  'emu_robotics_msgs/msg/Plan': {
    text: [
      'std_msgs/Header header',
      'string plan_id',
      'string goal',
      'string planner',
      'uint32 source_width',
      'uint32 source_height',
      'emu_robotics_msgs/Subgoal[] subgoals',
      'bool complete',
      'float64 elapsed_ms',
      'float64 first_subgoal_ms',
      'uint32 generated_tokens',
      'uint32 forward_passes',
    ].join('\n'),
    deps: ['std_msgs/msg/Header', 'emu_robotics_msgs/msg/Subgoal'],
  },
  'emu_robotics_msgs/msg/BridgeStatus': {
    text: [
      'uint8 STATE_IDLE=0',
      'uint8 STATE_WAITING_FOR_FRAME=1',
      'uint8 STATE_PLANNING=2',
      'uint8 STATE_ERROR=3',
      'std_msgs/Header header',
      'uint8 state',
      'string state_name',
      'string plan_id',
      'string goal',
      'string error_code',
      'string error_message',
      'uint32 frames_received',
      'uint32 frames_rejected',
      'uint32 goals_received',
      'uint32 goals_rejected',
      'uint32 plans_completed',
      'uint32 plans_cancelled',
      'uint32 plans_failed',
    ].join('\n'),
    deps: ['std_msgs/msg/Header'],
  },
};

const DELIMITER = '='.repeat(80);

/** `sensor_msgs/msg/Image` → `sensor_msgs/Image` (the form used inside definitions). */
export function shortTypeName(type: string): string {
  return type.replace('/msg/', '/');
}

/** The own `.msg` text of a type (what goes in the interface package). */
export function ownDefinition(type: RosTypeName): string {
  return OWN[type].text;
}

/** The complete `ros2msg` definition stored as an MCAP schema for `type`. */
export function completeDefinition(type: RosTypeName): string {
  const order: RosTypeName[] = [];
  const visit = (t: RosTypeName) => {
    for (const dep of OWN[t].deps) {
      if (!order.includes(dep)) {
        order.push(dep);
        visit(dep);
      }
    }
  };
  visit(type);
  return [OWN[type].text, ...order.map((dep) => `${DELIMITER}\nMSG: ${shortTypeName(dep)}\n${OWN[dep].text}`)].join('\n');
}

export function isRosTypeName(name: string): name is RosTypeName {
  return (ROS_TYPES as readonly string[]).includes(name);
}
