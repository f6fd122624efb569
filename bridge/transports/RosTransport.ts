import { Observable } from 'rxjs';
import { AbortError, TransportError } from '../../sdk/errors.ts';
import type { PlanTaskResult } from '../messages/rosTypes.ts';
import { actionType, messageType, type RclGoalHandle, type RclModule, type RclNode, type RclPublisher, type RclQos } from './rclnodejsSurface.ts';
import { QOS_PROFILES } from './qosProfiles.ts';
import { loadRclnodejs } from './loadRclnodejs.ts';
import type { GoalCheck, PlanTaskHandler, QosName, TopicSpec, Transport } from './Transport.ts';

export interface RosTransportOptions {
  /** @default 'emu_bridge' */
  nodeName?: string;
  namespace?: string;
  /**
   * ROS arguments for rcl, as after `--ros-args` on a ROS command line (`-r from:=to` remapping,
   * `--params-file`, `--log-level`, …); rcl applies them to this node.
   */
  rosArgs?: readonly string[];
  /**
   * Make the node a ROS 2 managed node (rclnodejs `LifecycleNode`); the bridge serves its
   * lifecycle services itself (bridge/ros/lifecycleServices.ts), since its transitions are async.
   * @default false
   */
  lifecycle?: boolean;
  /** The rclnodejs module; default: loaded by `loadRclnodejs` (after the ROS environment check). */
  rclnodejs?: RclModule;
  /** How often a running action goal checks for cancellation. @default 50 @unit ms */
  cancelPollMs?: number;
}

/**
 * The real ROS 2 path, over rclnodejs (loaded lazily, only here). Camera topics use the sensor-data
 * QoS, plans reliable + transient-local, and the PlanTask action serves plans with feedback.
 *
 * @example
 * const transport = await RosTransport.create({ nodeName: 'emu_bridge' });
 */
export class RosTransport implements Transport {
  readonly kind = 'ros' as const;
  readonly #rcl: RclModule;
  readonly #node: RclNode;
  readonly #publishers = new Map<string, RclPublisher>();
  readonly #actionServers = new Set<{ destroy(): void }>();
  readonly #cancelPollMs: number;
  #closed = false;

  private constructor(rcl: RclModule, node: RclNode, cancelPollMs: number) {
    this.#rcl = rcl;
    this.#node = node;
    this.#cancelPollMs = cancelPollMs;
  }

  static async create(options: RosTransportOptions = {}): Promise<RosTransport> {
    const rcl = options.rclnodejs ?? (await loadRclnodejs());
    // rclnodejs's own SIGINT handler shuts every context down at once, under the bridge's feet
    // (the last status unpublished, the lifecycle's shutdown on a destroyed node). The bridge's
    // owner handles signals and closes this transport in order.
    rcl.removeSignalHandlers();
    // rcl reads ROS arguments from the argv it is given (the program name first, as in a real argv).
    await (options.rosArgs?.length ? rcl.init(undefined, ['emu', '--ros-args', ...options.rosArgs]) : rcl.init());
    const name = options.nodeName ?? 'emu_bridge';
    const namespace = options.namespace ?? '';
    // No communication interface from rclnodejs: its change_state service runs transitions
    // synchronously, and loading a model is not. (rcl_lifecycle still keeps the state machine.)
    const node = options.lifecycle ? new rcl.lifecycle.LifecycleNode(name, namespace, undefined, undefined, false) : new rcl.Node(name, namespace);
    const transport = new RosTransport(rcl, node, options.cancelPollMs ?? 50);
    node.spin();
    return transport;
  }

  /** The rclnodejs module this transport runs on (for the node's lifecycle services and parameters). */
  get rcl(): RclModule {
    return this.#rcl;
  }

  /** The ROS node itself. */
  get node(): RclNode {
    return this.#node;
  }

  get closed(): boolean {
    return this.#closed;
  }

  subscribe(topic: TopicSpec): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      const sub = this.#node.createSubscription(messageType(topic.type), topic.name, { qos: this.#qos(topic.qos) }, (msg: unknown) => subscriber.next(msg));
      return () => {
        if (!this.#closed) this.#node.destroySubscription(sub);
      };
    });
  }

  async publish(topic: TopicSpec, message: object): Promise<void> {
    if (this.#closed) throw new TransportError(`publish on '${topic.name}' after close`);
    let pub = this.#publishers.get(topic.name);
    if (!pub) {
      pub = this.#node.createPublisher(messageType(topic.type), topic.name, { qos: this.#qos(topic.qos) });
      this.#publishers.set(topic.name, pub);
    }
    pub.publish(message as never); // validated by the pipeline's zod schemas; rclnodejs checks it against the type
  }

  serveAction(name: string, handler: PlanTaskHandler, check?: GoalCheck): () => void {
    const controllers = new Map<RclGoalHandle, AbortController>();
    const execute = async (goalHandle: RclGoalHandle) => {
      const controller = new AbortController();
      controllers.set(goalHandle, controller);
      const poll = setInterval(() => {
        if (goalHandle.isCancelRequested) controller.abort(new AbortError('goal cancelled by client'));
      }, this.#cancelPollMs);
      try {
        const result = await handler(goalHandle.request as unknown as { instruction: string }, {
          signal: controller.signal,
          feedback: (f) => goalHandle.publishFeedback(f as never),
        });
        settleGoal(goalHandle, 'succeed');
        return result as never;
      } catch {
        settleGoal(goalHandle, goalHandle.isCancelRequested ? 'canceled' : 'abort');
        return emptyResult() as never;
      } finally {
        clearInterval(poll);
        controllers.delete(goalHandle);
      }
    };
    const server = new this.#rcl.ActionServer(
      this.#node,
      actionType('emu_robotics_msgs/action/PlanTask'),
      name,
      execute,
      // Synchronous in rclnodejs: the check is too (the node's state and the goal's text).
      (goal: unknown) => (check?.(goal) ? this.#rcl.GoalResponse.REJECT : this.#rcl.GoalResponse.ACCEPT),
      undefined,
      (goalHandle: RclGoalHandle | undefined) => {
        // rclnodejs moves the goal to CANCELING only after this callback returns. Aborting the plan
        // now would let the handler settle first (ABORTED), and rclnodejs's CANCEL_GOAL on an
        // ABORTED goal then throws inside its un-awaited code: end the process. So abort after it.
        const controller = goalHandle && controllers.get(goalHandle);
        setImmediate(() => controller?.abort(new AbortError('goal cancelled by client')));
        return this.#rcl.CancelResponse.ACCEPT;
      },
    );
    this.#actionServers.add(server);
    return () => {
      if (!this.#actionServers.delete(server)) return;
      for (const c of controllers.values()) c.abort(new AbortError('action server stopped'));
      if (!this.#closed) server.destroy();
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#actionServers) s.destroy();
    this.#node.destroy();
    await this.#rcl.shutdown();
  }

  #qos(name: QosName): RclQos {
    const Q = this.#rcl.QoS;
    switch (name) {
      case 'sensor_data':
        return Q.profileSensorData;
      case 'reliable':
        return new Q(Q.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, 10, Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE, Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_VOLATILE);
      case 'latched':
      case 'latched_burst':
        return new Q(Q.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, QOS_PROFILES[name].depth, Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE, Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL);
    }
  }
}

/**
 * Moves a goal to its terminal state; a goal that reached one by another path (a cancel racing a
 * success) stays where it is: a state-machine error must never end a long-running node.
 */
function settleGoal(goalHandle: RclGoalHandle, end: 'succeed' | 'canceled' | 'abort'): void {
  try {
    goalHandle[end]();
  } catch {
    if (end !== 'abort') {
      try {
        goalHandle.abort();
      } catch {
        // already terminal
      }
    }
  }
}

/** An action's result when it did not succeed: an empty plan (the status carries the reason). */
function emptyResult(): PlanTaskResult {
  return {
    plan: {
      header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
      plan_id: '', goal: '', planner: '', source_width: 0, source_height: 0, subgoals: [],
      complete: false, truncated: false, elapsed_ms: 0, first_subgoal_ms: -1, generated_tokens: 0, forward_passes: 0,
    },
  };
}
