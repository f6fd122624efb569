/**
 * The main job's robot over real ROS 2: `emu bridge --transport ros` runs as a separate node (a
 * child process, as a user starts it), and the simulator talks to it as any robot controller would,
 * on rclnodejs over DDS: a camera topic (sensor_msgs/msg/Image, rgb8, sensor-data QoS), the PlanTask
 * action for the goal, the subgoal and plan topics (reliable + transient local), and controller
 * feedback (std_msgs/msg/String, JSON) on the bridge's feedback topic.
 *
 * rclnodejs links against the ROS tree when the process starts, so this process must run with the
 * environment of `source bridge/ros/env.sh` (examples/mainJob.ts re-executes itself under it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dump as dumpYaml } from 'js-yaml';
import { Subject } from 'rxjs';
import type * as Rcl from 'rclnodejs';
import type { BridgeStatusMsg, PlanMsg, StringMsg, SubgoalMsg } from '../bridge/messages/rosTypes.ts';
import type { Logger } from '../bridge/pipeline/StatusReporter.ts';
import { actionType, messageType } from '../bridge/transports/rclnodejsSurface.ts';
import { loadRclnodejs } from '../bridge/transports/loadRclnodejs.ts';
import type { RgbImage } from '../sdk/image/RgbImage.ts';
import { type RobotLink, type RobotLinkOptions, TOPICS, toImageMsg } from './closedLoop.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface RosRobotLinkOptions extends RobotLinkOptions {
  /** The camera republishes the current view at this rate, as a real camera streams. @default 10 @unit Hz */
  cameraHz?: number;
  /**
   * A report waits this long after the frame it follows (and at least two camera periods): the
   * camera and feedback topics are not ordered, and the bridge judges a `done` against the newest
   * frame it holds. @default 150 @unit ms
   */
  settleMs?: number;
  /** How long the bridge node may take to come up (model load included). @default 60000 @unit ms */
  readyTimeoutMs?: number;
}

/** `emu bridge --transport ros` as a child process; its stderr goes to our log, line by line. */
class BridgeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #stderr: string[] = [];

  constructor(args: string[], log: Logger | undefined) {
    this.child = spawn(process.execPath, [path.join(root, 'bin/emu.js'), 'bridge', ...args], {
      cwd: root,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C reaches us only, and we stop it (once, in order).
      detached: true,
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.once('error', (err) => this.#stderr.push(`cannot start the bridge: ${err.message}`));
    const forward = (stream: NodeJS.ReadableStream) =>
      createInterface({ input: stream }).on('line', (line) => {
        this.#stderr.push(line);
        if (this.#stderr.length > 400) this.#stderr.splice(0, this.#stderr.length - 400);
        const text = `ros bridge (pid ${this.child.pid}): ${line.replace(/^\[emu bridge\] /, '')}`;
        if (/^\[emu bridge\] WARN /.test(line)) log?.warn(text.replace(' WARN ', ' '));
        else log?.info(text);
      });
    forward(this.child.stdout!);
    forward(this.child.stderr!);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  stderr(): string {
    return this.#stderr.join('\n');
  }

  /** Fails with the bridge's last output when it ended on its own. */
  async whenDied(): Promise<never> {
    const { code, signal } = await this.exited;
    throw new Error(`the ROS bridge exited early (${signal ?? `code ${code}`}):\n${this.stderr().split('\n').slice(-30).join('\n')}`);
  }

  /** SIGINT (the node finishes and exits), then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill('SIGINT');
    const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts the bridge node, joins the graph as the robot, and resolves once the bridge listens. */
export async function createRosRobotLink(options: RosRobotLinkOptions): Promise<RobotLink> {
  const log = options.log;
  const cameraMs = 1000 / (options.cameraHz ?? 10);
  const settleMs = Math.max(options.settleMs ?? 150, 2 * cameraMs);
  const rcl = await loadRclnodejs();
  // rclnodejs shuts every context down on SIGINT by itself; we stop in order (bridge, node, context).
  rcl.removeSignalHandlers();

  const dir = await mkdtemp(path.join(tmpdir(), 'emu-main-job-'));
  const configPath = path.join(dir, 'bridge.yaml');
  // The bridge's parameters, as a user writes them: the topics (the feedback topic turns on plan
  // following) and the re-plan policy.
  await writeFile(configPath, dumpYaml({ topics: { ...TOPICS }, ...(options.replan ? { replan: options.replan } : {}) }));
  const bridge = new BridgeProcess(['--transport', 'ros', '--model', path.resolve(options.modelDir), '--threads', '1', '--config', configPath], log);
  const died = bridge.whenDied();
  died.catch(() => undefined);

  let node: Rcl.Node | undefined;
  /** The PlanTask goal until its result is in: cancelled when the link closes first (Ctrl-C). */
  let inFlight: { cancelGoal(): Promise<unknown>; getResult(): Promise<unknown> } | undefined;
  let camera: ReturnType<typeof setInterval> | undefined;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      clearInterval(camera);
      try {
        // A controller that goes away cancels its goal first: the bridge ends it CANCELED and idles.
        if (inFlight && bridge.running) await Promise.race([inFlight.cancelGoal().then(() => inFlight?.getResult()), sleep(2000)]).catch(() => undefined);
        const ranToTheEnd = bridge.running;
        const { code, signal } = await bridge.stop();
        if (!ranToTheEnd) return; // it died early: its stderr is in the error
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        if (code === 0) log?.info(`ros: bridge node stopped (${how})`);
        else log?.warn(`ros: bridge node stopped badly (${how})`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('exit', killOnExit);
        try {
          node?.destroy();
          if (!rcl.isShutdown()) rcl.shutdown();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    })());
  // Never leave the bridge running: on Ctrl-C/SIGTERM stop it first (a repeated signal waits for
  // the same stop), and kill it if we exit anyway.
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log?.warn(`${signal}: stopping the ROS bridge`);
    void close().finally(() => process.exit(130));
  };
  const killOnExit = () => bridge.running && bridge.child.kill('SIGKILL');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.once('exit', killOnExit);

  try {
    await rcl.init();
    node = new rcl.Node('emu_sim_robot');
    const { QoS } = rcl;
    // Reliable + transient local, deep enough for a burst of subgoals (as the bridge publishes them).
    const latched = new QoS(QoS.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, 50, QoS.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE, QoS.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL);
    const cameraPub = node.createPublisher(messageType('sensor_msgs/msg/Image'), TOPICS.image, { qos: QoS.profileSensorData });
    const feedbackPub = node.createPublisher(messageType('std_msgs/msg/String'), TOPICS.feedback);
    const subgoals = new Subject<SubgoalMsg>();
    const plans = new Subject<PlanMsg>();
    let lastStatus: BridgeStatusMsg | undefined;
    node.createSubscription(messageType('emu_robotics_msgs/msg/Subgoal'), TOPICS.subgoal, { qos: latched }, (m: unknown) => subgoals.next(m as SubgoalMsg));
    node.createSubscription(messageType('emu_robotics_msgs/msg/Plan'), TOPICS.plan, { qos: latched }, (m: unknown) => plans.next(m as PlanMsg));
    node.createSubscription(messageType('emu_robotics_msgs/msg/BridgeStatus'), TOPICS.status, (m: unknown) => (lastStatus = m as BridgeStatusMsg));
    const client = new rcl.ActionClient(node, actionType('emu_robotics_msgs/action/PlanTask'), TOPICS.action);
    node.spin();

    // The bridge listens once its status topic, the action and its input subscriptions are all up
    // (an inactive lifecycle node serves the action but subscribes to nothing).
    const n = node;
    const ready = () => n.countPublishers(TOPICS.status) > 0 && client.isActionServerAvailable() && n.countSubscribers(TOPICS.image) > 0 && n.countSubscribers(TOPICS.feedback) > 0;
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    while (!ready()) {
      if (!bridge.running) await died;
      if (Date.now() > deadline) throw new Error(`the ROS bridge did not come up within ${options.readyTimeoutMs ?? 60_000} ms:\n${bridge.stderr()}`);
      await sleep(50);
    }
    log?.info(`ros: bridge node up (pid ${bridge.child.pid}, ROS_DOMAIN_ID ${process.env.ROS_DOMAIN_ID ?? '0'}); camera ${TOPICS.image}, feedback ${TOPICS.feedback}, action ${TOPICS.action}`);

    let current: RgbImage | undefined;
    let lastFrameAt = 0;
    const stamp = () => {
      const ms = Date.now();
      return { sec: Math.floor(ms / 1000), nanosec: (ms % 1000) * 1_000_000 };
    };
    const show = () => current && cameraPub.publish(toImageMsg(current, stamp()) as never);
    camera = setInterval(show, cameraMs);

    return {
      transport: 'ros',
      subgoals: subgoals.asObservable(),
      plans: plans.asObservable(),
      publishFrame(frame) {
        current = frame;
        lastFrameAt = performance.now();
        show();
      },
      async publishFeedback(feedback: StringMsg) {
        const wait = lastFrameAt + settleMs - performance.now();
        if (wait > 0) await sleep(wait);
        feedbackPub.publish(feedback as never);
      },
      async sendGoal(instruction) {
        const sentAt = Date.now();
        const handle = await Promise.race([client.sendGoal({ instruction } as never), died]);
        if (!handle.isAccepted()) throw new Error(`the bridge rejected the goal${lastStatus?.error_message ? `: ${lastStatus.error_message}` : ''}`);
        inFlight = handle;
        try {
          await Promise.race([handle.getResult(), died]);
        } finally {
          inFlight = undefined;
        }
        if (handle.isSucceeded()) return;
        // The reason is on the status topic (published as the plan fails, just before the result).
        const reported = () => lastStatus && lastStatus.error_message && stampMs(lastStatus.header.stamp) >= sentAt - 1000;
        for (let i = 0; i < 20 && !reported(); i++) await sleep(50);
        const outcome = handle.isCanceled() ? 'CANCELED' : handle.isAborted() ? 'ABORTED' : `status ${handle.status}`;
        throw new Error(`PlanTask ${outcome}${reported() ? `: ${lastStatus!.error_message}` : ''}`);
      },
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

function stampMs(t: { sec: number; nanosec: number }): number {
  return t.sec * 1000 + t.nanosec / 1e6;
}
