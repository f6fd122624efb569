import type { Observable } from 'rxjs';
import type { RosTypeName } from '../messages/rosSchemas.ts';
import type { BagDamage } from './scanBag.ts';
import type { PlanTaskFeedback, PlanTaskGoal, PlanTaskResult } from '../messages/rosTypes.ts';

/** The transports the bridge speaks: ROS 2 (rclnodejs), MCAP rosbag2 files, in-process. */
export const TRANSPORT_KINDS = ['ros', 'mcap', 'memory'] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

/**
 * Named QoS profiles. `sensor_data`: best effort, keep last 5, volatile (cameras).
 * `reliable`: reliable, keep last 10, volatile. `latched`: reliable, keep last 1, transient local
 * (late joiners get the newest plan). `latched_burst`: as latched but keep last 32, for messages
 * that come in bursts (a plan's subgoals): with a history of 1, a reliable writer may replace a
 * sample before a slower reader has it.
 */
export const QOS_NAMES = ['sensor_data', 'reliable', 'latched', 'latched_burst'] as const;
export type QosName = (typeof QOS_NAMES)[number];

export interface TopicSpec {
  name: string;
  type: RosTypeName;
  qos: QosName;
}

/** What an action handler gets besides the goal: a cancel signal and a feedback sink. */
export interface ActionContext {
  signal: AbortSignal;
  feedback(feedback: PlanTaskFeedback): void;
}
export type PlanTaskHandler = (goal: PlanTaskGoal, context: ActionContext) => Promise<PlanTaskResult>;
/** Decides before a goal is accepted: the reason to reject it, or undefined to accept. */
export type GoalCheck = (goal: unknown) => Error | undefined;

/**
 * Where messages come from and go to: ROS 2 (rclnodejs), an MCAP bag, or memory. Messages are plain
 * objects shaped like the `.msg` files (bridge/messages/rosTypes.ts); the pipeline validates what
 * it receives.
 */
/**
 * Input the transport could not turn into messages: a channel with an unknown schema, a message
 * that does not decode, or a damaged region of a bag (`topic` is then the bag's path).
 */
export interface TransportProblem {
  topic: string;
  code: 'unknown_schema' | 'undecodable' | BagDamage['code'];
  reason: string;
}

export interface Transport {
  readonly kind: TransportKind;
  /** Messages arriving on `topic`. Hot; unsubscribing removes the subscription. */
  subscribe(topic: TopicSpec): Observable<unknown>;
  publish(topic: TopicSpec, message: object): Promise<void>;
  close(): Promise<void>;
  /** Problems found below the message level; the pipeline logs and reports them. */
  readonly problems?: Observable<TransportProblem>;
  /**
   * Serves the `emu_robotics_msgs/action/PlanTask` action under `name`, when the transport has
   * actions: `check` rejects a goal up front (the client sees REJECTED), `handler` runs an accepted
   * one. Returns a function that stops serving (the server then rejects every goal).
   */
  serveAction?(name: string, handler: PlanTaskHandler, check?: GoalCheck): () => void;
}
