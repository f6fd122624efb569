import type { RclGoalHandle, RclModule, RclNode } from '../../bridge/transports/rclnodejsSurface.ts';

/**
 * FAKE of the rclnodejs API surface RosTransport uses (no ROS involved): records every call
 * (nodes, subscriptions, publishers with their QoS, published messages, action servers) and lets a
 * test deliver messages and act as an action client.
 */
export function createFakeRclnodejs() {
  const calls: string[] = [];
  const subscriptions: { type: string; topic: string; qos: unknown; deliver: (m: unknown) => void; destroyed: boolean }[] = [];
  const publishers: { type: string; topic: string; qos: unknown; messages: object[] }[] = [];
  const actionServers: { type: string; name: string; execute: (h: RclGoalHandle) => Promise<object>; goal?: (g: unknown) => number; cancel?: (h: RclGoalHandle) => number; destroyed: boolean }[] = [];

  class FakeQoS {
    static profileSensorData = 'qos_profile_sensor_data'; // a profile name, as in rclnodejs
    static HistoryPolicy = { RMW_QOS_POLICY_HISTORY_KEEP_LAST: 1 };
    static ReliabilityPolicy = { RMW_QOS_POLICY_RELIABILITY_RELIABLE: 1, RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT: 2 };
    static DurabilityPolicy = { RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL: 1, RMW_QOS_POLICY_DURABILITY_VOLATILE: 2 };
    constructor(readonly history?: number, readonly depth?: number, readonly reliability?: number, readonly durability?: number) {}
  }

  class FakeNode implements RclNode {
    constructor(readonly name: string, readonly namespace?: string) {
      calls.push(`Node(${name},${namespace ?? ''})`);
    }
    createSubscription(type: string, topic: string, options: { qos: unknown }, callback: (m: unknown) => void) {
      const entry = { type, topic, qos: options.qos, deliver: callback, destroyed: false };
      subscriptions.push(entry);
      return { topic };
    }
    createPublisher(type: string, topic: string, options: { qos: unknown }) {
      const entry = { type, topic, qos: options.qos, messages: [] as object[] };
      publishers.push(entry);
      return { publish: (m: object) => void entry.messages.push(m) };
    }
    destroySubscription(sub: { topic?: string }) {
      const entry = subscriptions.find((s) => s.topic === sub.topic && !s.destroyed);
      if (entry) entry.destroyed = true;
    }
    spin() {
      calls.push('spin');
    }
    destroy() {
      calls.push('destroy');
    }
  }

  class FakeActionServer {
    readonly entry: (typeof actionServers)[number];
    constructor(_node: RclNode, type: string, name: string, execute: (h: RclGoalHandle) => Promise<object>, goal?: (g: unknown) => number, _accepted?: unknown, cancel?: (h: RclGoalHandle) => number) {
      this.entry = { type, name, execute, ...(goal ? { goal } : {}), ...(cancel ? { cancel } : {}), destroyed: false };
      actionServers.push(this.entry);
    }
    destroy() {
      this.entry.destroyed = true;
    }
  }

  const module: RclModule = {
    init: async () => void calls.push('init'),
    shutdown: () => void calls.push('shutdown'),
    Node: FakeNode,
    QoS: FakeQoS as unknown as RclModule['QoS'],
    ActionServer: FakeActionServer,
    GoalResponse: { REJECT: 1, ACCEPT: 2 }, // rclnodejs 2.2.0 lib/action/response.js
    CancelResponse: { ACCEPT: 2, REJECT: 1 },
  };

  /** Acts as an action client on the first server named `name`. */
  function sendGoal(name: string, request: object) {
    const server = actionServers.find((s) => s.name === name)!;
    const handle = {
      request,
      isCancelRequested: false,
      feedback: [] as object[],
      state: 'executing' as 'executing' | 'succeeded' | 'aborted' | 'canceled',
      publishFeedback(f: object) { handle.feedback.push(f); },
      succeed() { handle.state = 'succeeded'; },
      abort() { handle.state = 'aborted'; },
      canceled() { handle.state = 'canceled'; },
    };
    const accepted = server.goal?.(request);
    const result = server.execute(handle);
    const cancel = () => {
      handle.isCancelRequested = true;
      return server.cancel?.(handle);
    };
    return { handle, accepted, result, cancel };
  }

  return { module, calls, subscriptions, publishers, actionServers, sendGoal, FakeQoS };
}
