import type { BridgeLifecycle, LifecycleEvent, LifecycleState, LifecycleTransition } from '../BridgeLifecycle.ts';
import type { Logger } from '../pipeline/StatusReporter.ts';
import type { RosTransport } from '../transports/RosTransport.ts';
import type * as Rcl from 'rclnodejs';

/** lifecycle_msgs/msg/State and Transition as they travel. */
interface IdLabel {
  id: number;
  label: string;
}

/** lifecycle_msgs/msg/State ids (primary states, then the transition states). */
const PRIMARY: Record<LifecycleState, IdLabel> = {
  unconfigured: { id: 1, label: 'unconfigured' },
  inactive: { id: 2, label: 'inactive' },
  active: { id: 3, label: 'active' },
  finalized: { id: 4, label: 'finalized' },
};
const TRANSITIONING: Record<LifecycleTransition, IdLabel> = {
  configure: { id: 10, label: 'configuring' },
  cleanup: { id: 11, label: 'cleaningup' },
  shutdown: { id: 12, label: 'shuttingdown' },
  activate: { id: 13, label: 'activating' },
  deactivate: { id: 14, label: 'deactivating' },
};
const ERROR_PROCESSING: IdLabel = { id: 15, label: 'errorprocessing' };

/** lifecycle_msgs/msg/Transition ids and rcl_lifecycle's labels → the bridge's transitions. */
const BY_ID: Record<number, LifecycleTransition> = { 1: 'configure', 2: 'cleanup', 3: 'activate', 4: 'deactivate', 5: 'shutdown', 6: 'shutdown', 7: 'shutdown' };
const BY_LABEL: Record<string, LifecycleTransition> = {
  configure: 'configure',
  cleanup: 'cleanup',
  activate: 'activate',
  deactivate: 'deactivate',
  shutdown: 'shutdown',
  unconfigured_shutdown: 'shutdown',
  inactive_shutdown: 'shutdown',
  active_shutdown: 'shutdown',
};

// rcl_lifecycle's callback return codes (lifecycle_msgs/msg/Transition TRANSITION_CALLBACK_*).
const SUCCESS = 97;
const ERROR = 99;

/** The bridge transition a ChangeState request names (a non-empty label wins, as in rclcpp). */
export function transitionOf(request: { id?: number; label?: string }): LifecycleTransition | undefined {
  if (request.label) return BY_LABEL[request.label];
  return request.id === undefined ? undefined : BY_ID[request.id];
}

/**
 * The ROS 2 managed-node interface of the bridge, as `ros2 lifecycle` and launch's lifecycle
 * events use it: `~/change_state`, `~/get_state`, `~/get_available_states`,
 * `~/get_available_transitions` and `~/transition_event`. The transitions are the bridge's own
 * (async: configure loads a model); rcl_lifecycle's state machine follows each one as it ends, so
 * rclnodejs's own view of the node (`currentState`) stays true. Returns a function that stops it.
 */
export function serveLifecycle(transport: RosTransport, lifecycle: BridgeLifecycle, log?: Logger): () => void {
  const node = transport.node as unknown as LifecycleRclNode;
  let pending = SUCCESS;
  for (const on of ['registerOnConfigure', 'registerOnActivate', 'registerOnDeactivate', 'registerOnCleanup', 'registerOnShutdown'] as const) node[on](() => pending as Rcl.lifecycle.CallbackReturnCode);

  const events = transport.node.createPublisher('lifecycle_msgs/msg/TransitionEvent' as never, '~/transition_event');
  const publishEvent = (transition: IdLabel, start: IdLabel, goal: IdLabel) => {
    if (transport.closed) return;
    events.publish({ timestamp: BigInt(Date.now()) * 1_000_000n, transition, start_state: start, goal_state: goal } as never);
  };
  const follow = (e: LifecycleEvent) => {
    const transition = { id: transitionId(e.transition, e.from), label: e.transition };
    if (e.ok === undefined) return publishEvent(transition, PRIMARY[e.from], TRANSITIONING[e.transition]);
    pending = e.ok || e.transition === 'shutdown' ? SUCCESS : ERROR;
    try {
      if (!transport.closed) node[e.transition]();
    } catch (err) {
      log?.warn(`rcl lifecycle state machine did not follow ${e.transition}: ${(err as Error).message}`);
    }
    if (!e.ok && e.transition !== 'shutdown') publishEvent(transition, TRANSITIONING[e.transition], ERROR_PROCESSING);
    publishEvent(transition, e.ok ? TRANSITIONING[e.transition] : ERROR_PROCESSING, PRIMARY[e.to!]);
  };
  const sub = lifecycle.events.subscribe(follow);

  const services = [
    transport.node.createService('lifecycle_msgs/srv/ChangeState' as never, '~/change_state', async (request: { transition: { id: number; label: string } }) => {
      const name = transitionOf(request.transition);
      if (!name || !lifecycle.canRun(name)) {
        log?.warn(`lifecycle: ${name ?? `transition ${JSON.stringify(request.transition)}`} refused in state ${lifecycle.transitioning ? TRANSITIONING[lifecycle.transitioning].label : lifecycle.state}`);
        return { success: false };
      }
      try {
        await lifecycle.run(name);
        return { success: true };
      } catch (err) {
        log?.warn(`lifecycle: ${name} failed: ${(err as Error).message}`);
        return { success: false };
      }
    }),
    transport.node.createService('lifecycle_msgs/srv/GetState' as never, '~/get_state', () => ({ current_state: currentState(lifecycle) })),
    transport.node.createService('lifecycle_msgs/srv/GetAvailableStates' as never, '~/get_available_states', () => ({
      available_states: [...Object.values(PRIMARY), ...Object.values(TRANSITIONING), ERROR_PROCESSING],
    })),
    transport.node.createService('lifecycle_msgs/srv/GetAvailableTransitions' as never, '~/get_available_transitions', () => ({
      available_transitions: lifecycle.transitioning ? [] : availableTransitions(node),
    })),
  ];
  log?.info(`lifecycle: ${transport.node.getFullyQualifiedName()} is a managed node (${lifecycle.state}); ros2 lifecycle set ${transport.node.getFullyQualifiedName()} configure|activate|deactivate|cleanup|shutdown`);
  return () => {
    sub.unsubscribe();
    if (transport.closed) return;
    for (const s of services) transport.node.destroyService(s);
    transport.node.destroyPublisher(events);
  };
}

/**
 * rcl_lifecycle's transitions from the current state as lifecycle_msgs/msg/TransitionDescription.
 * rclnodejs 2.2.0's objects are `{ transition, startState, goalState }` of `{ id, label }` (its
 * .d.ts promises an `asMessage()` they do not have).
 */
function availableTransitions(node: LifecycleRclNode): Array<{ transition: IdLabel; start_state: IdLabel; goal_state: IdLabel }> {
  const plain = (s: IdLabel) => ({ id: s.id, label: s.label });
  return (node.availableTransitions as unknown as Array<{ transition: IdLabel; startState: IdLabel; goalState: IdLabel }>).map((t) => ({
    transition: plain(t.transition),
    start_state: plain(t.startState),
    goal_state: plain(t.goalState),
  }));
}

/** What get_state reports: the transition state while one runs. */
function currentState(lifecycle: BridgeLifecycle): IdLabel {
  return lifecycle.transitioning ? TRANSITIONING[lifecycle.transitioning] : PRIMARY[lifecycle.state];
}

function transitionId(name: LifecycleTransition, from: LifecycleState): number {
  if (name !== 'shutdown') return { configure: 1, cleanup: 2, activate: 3, deactivate: 4 }[name];
  return { unconfigured: 5, inactive: 6, active: 7, finalized: 7 }[from];
}

type LifecycleRclNode = Rcl.lifecycle.LifecycleNode;
