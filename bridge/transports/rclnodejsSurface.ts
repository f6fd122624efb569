/**
 * The part of the rclnodejs 2.x API the ROS transport uses, typed by us (rclnodejs's own types are
 * `any` without a ROS install, and it is never imported outside RosTransport). A fake of exactly
 * this surface drives the contract test.
 */
export interface RclQosCtor {
  new (history?: number, depth?: number, reliability?: number, durability?: number): unknown;
  profileSensorData: unknown;
  HistoryPolicy: { RMW_QOS_POLICY_HISTORY_KEEP_LAST: number };
  ReliabilityPolicy: { RMW_QOS_POLICY_RELIABILITY_RELIABLE: number; RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT: number };
  DurabilityPolicy: { RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL: number; RMW_QOS_POLICY_DURABILITY_VOLATILE: number };
}

export interface RclPublisher {
  publish(message: object): void;
}

export interface RclSubscription {
  readonly topic?: string;
}

export interface RclNode {
  createSubscription(type: string, topic: string, options: { qos: unknown }, callback: (message: unknown) => void): RclSubscription;
  createPublisher(type: string, topic: string, options: { qos: unknown }): RclPublisher;
  destroySubscription?(subscription: RclSubscription): void;
  spin?(): void;
  destroy(): void;
}

export interface RclGoalHandle {
  readonly request: unknown;
  readonly isCancelRequested: boolean;
  publishFeedback(feedback: object): void;
  succeed(): void;
  abort(): void;
  canceled(): void;
}

export interface RclModule {
  init(): Promise<void>;
  shutdown(): void | Promise<void>;
  spin?(node: RclNode): void;
  Node: new (name: string, namespace?: string) => RclNode;
  QoS: RclQosCtor;
  ActionServer: new (
    node: RclNode,
    typeClass: string,
    actionName: string,
    executeCallback: (goalHandle: RclGoalHandle) => Promise<object>,
    goalCallback?: (goal: unknown) => number,
    handleAcceptedCallback?: ((goalHandle: RclGoalHandle) => void) | null,
    cancelCallback?: (goalHandle: RclGoalHandle) => number,
  ) => { destroy(): void };
  GoalResponse: { ACCEPT: number; REJECT: number };
  CancelResponse: { ACCEPT: number; REJECT: number };
}
