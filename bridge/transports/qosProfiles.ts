import type { QosName } from './Transport.ts';

/** rmw enum values: history keep_last=1; reliability reliable=1, best_effort=2; durability transient_local=1, volatile=2. */
export const QOS_PROFILES: Record<QosName, { history: 1; depth: number; reliability: 1 | 2; durability: 1 | 2 }> = {
  sensor_data: { history: 1, depth: 5, reliability: 2, durability: 2 },
  reliable: { history: 1, depth: 10, reliability: 1, durability: 2 },
  latched: { history: 1, depth: 1, reliability: 1, durability: 1 },
  latched_burst: { history: 1, depth: 32, reliability: 1, durability: 1 },
};

/** rosbag2's `offered_qos_profiles` channel metadata, so `ros2 bag play` re-offers the same QoS. */
export function qosYaml(name: QosName): string {
  const q = QOS_PROFILES[name];
  const zero = '{sec: 0, nsec: 0}';
  return [
    `- history: ${q.history}`,
    `  depth: ${q.depth}`,
    `  reliability: ${q.reliability}`,
    `  durability: ${q.durability}`,
    `  deadline: ${zero}`,
    `  lifespan: ${zero}`,
    '  liveliness: 1',
    `  liveliness_lease_duration: ${zero}`,
    '  avoid_ros_namespace_conventions: false',
  ].join('\n');
}
