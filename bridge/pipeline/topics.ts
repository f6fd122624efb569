import type { TopicSpec } from '../transports/Transport.ts';
import type { BridgeConfig } from './BridgeConfig.ts';

export type TopicRole = 'image' | 'compressedImage' | 'goal' | 'feedback' | 'plan' | 'subgoal' | 'status';
export type BridgeTopics = Record<TopicRole, TopicSpec>;

/** The bridge's topic table: each role's name (from the config; '' = off), message type and QoS. */
export function bridgeTopics({ topics, qos }: BridgeConfig): BridgeTopics {
  return {
    image: { name: topics.image, type: 'sensor_msgs/msg/Image', qos: qos.image },
    compressedImage: { name: topics.compressedImage, type: 'sensor_msgs/msg/CompressedImage', qos: qos.image },
    goal: { name: topics.goal, type: 'std_msgs/msg/String', qos: qos.goal },
    feedback: { name: topics.feedback, type: 'std_msgs/msg/String', qos: qos.goal },
    plan: { name: topics.plan, type: 'emu_robotics_msgs/msg/Plan', qos: qos.plan },
    // Subgoals come in bursts (each as it forms): a history of 1 could lose one to a slower reader.
    subgoal: { name: topics.subgoal, type: 'emu_robotics_msgs/msg/Subgoal', qos: qos.plan === 'latched' ? 'latched_burst' : qos.plan },
    status: { name: topics.status, type: 'emu_robotics_msgs/msg/BridgeStatus', qos: qos.status },
  };
}
