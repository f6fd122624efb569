/**
 * The product's main path, end to end: the simulator is the robot (camera + skill controller), the
 * bridge plans with the VLA model and follows the plan against controller feedback, re-planning
 * when a subgoal fails.
 *
 * transport → pipeline → EmuVlaPlanner → SDK → ONNX backend, and back as plan/subgoal messages.
 * The robot side (followSubgoals) is written once, over a RobotLink: `memory` runs the bridge
 * pipeline in this process over MemoryTransport; `ros` runs `emu bridge --transport ros` as a
 * separate ROS 2 node and talks to it over real topics and the PlanTask action (rosRobotLink.ts).
 */
import { filter, map, type Observable, type Subscription } from 'rxjs';
import { createBridge } from '../bridge/createBridge.ts';
import { type BridgeConfigInput, parseBridgeConfig } from '../bridge/pipeline/BridgeConfig.ts';
import { feedbackToRos } from '../bridge/messages/controllerFeedback.ts';
import type { Logger } from '../bridge/pipeline/StatusReporter.ts';
import { MemoryTransport } from '../bridge/transports/MemoryTransport.ts';
import type { ImageMsg, PlanMsg, StringMsg, SubgoalMsg } from '../bridge/messages/rosTypes.ts';
import type { RgbImage } from '../sdk/image/RgbImage.ts';
import { decodeImage } from '../sdk/image/codec.ts';
import { DEFAULT_MODEL_DIR } from '../sdk/model/defaultModel.ts';
import { SimWorld } from '../sim/world/SimWorld.ts';
import { makeEpisode, type Episode, type SuiteName } from '../sim/tasks/suites.ts';
import type { Split } from '../sim/tasks/generateScene.ts';
import { executeSubgoal } from '../sim/skills/executeSubgoal.ts';
import { allHold } from '../sim/tasks/predicates.ts';
import { perceiveLayout } from '../sim/perception/perceiveLayout.ts';
import { layoutAgreement } from '../sim/perception/layoutAgreement.ts';

export const TOPICS = { image: '/camera/image_raw', goal: '/emu/goal', feedback: '/emu/feedback', subgoal: '/emu/subgoal', plan: '/emu/plan', status: '/emu/status', action: '/emu/plan_task' } as const;

export const CLOSED_LOOP_TRANSPORTS = ['memory', 'ros'] as const;
export type ClosedLoopTransport = (typeof CLOSED_LOOP_TRANSPORTS)[number];

export interface ClosedLoopOptions {
  /** How the robot reaches the bridge. @default 'memory' */
  transport?: ClosedLoopTransport;
  modelDir?: string;
  suite?: SuiteName;
  split?: Split;
  seed?: number;
  /** Overrides of the closed loop's re-plan policy; default: PlanExecutor's, as `emu bridge` ships it. */
  replan?: BridgeConfigInput['replan'];
  log?: Logger;
}

/** One executed subgoal: what the plan predicted beside what the robot reached. */
export interface ExecutedStep {
  planId: string;
  index: number;
  instruction: string;
  ok: boolean;
  reason?: string;
  keyframe?: RgbImage;
  reached: RgbImage;
  /** Fraction of slots where the predicted keyframe's layout equals the reached frame's. */
  layoutAgreement?: number;
}

export interface ClosedLoopResult {
  episode: Pick<Episode, 'id' | 'suite' | 'split' | 'seed' | 'goal'>;
  modelDir: string;
  transport: ClosedLoopTransport;
  initialFrame: RgbImage;
  finalFrame: RgbImage;
  steps: ExecutedStep[];
  plans: number;
  success: boolean;
  error?: string;
  elapsedMs: number;
}

/**
 * The robot's side of the bridge, as a robot's controller sees it: subgoals and plans come in, camera
 * frames and controller feedback go out, and a goal is sent as a PlanTask action that settles when
 * the plan is followed to its end (resolves) or given up (rejects with the reason).
 */
export interface RobotLink {
  readonly transport: ClosedLoopTransport;
  /** `emu_robotics_msgs/msg/Subgoal` messages, every status (the robot acts on active ones). */
  readonly subgoals: Observable<SubgoalMsg>;
  /** `emu_robotics_msgs/msg/Plan` messages, partial and complete. */
  readonly plans: Observable<PlanMsg>;
  /** Shows the camera's current view (a `sensor_msgs/msg/Image`, rgb8). */
  publishFrame(frame: RgbImage): void;
  /** Reports on a subgoal (`std_msgs/msg/String`, JSON from `feedbackToRos`), after the frame it reached. */
  publishFeedback(feedback: StringMsg): Promise<void>;
  sendGoal(instruction: string): Promise<void>;
  /** Stops the bridge (and, for ROS, its process) and releases the link. */
  close(): Promise<void>;
}

export interface RobotLinkOptions {
  modelDir: string;
  replan?: BridgeConfigInput['replan'];
  log?: Logger;
}

export async function runClosedLoop(options: ClosedLoopOptions = {}): Promise<ClosedLoopResult> {
  const started = performance.now();
  const transport = options.transport ?? 'memory';
  if (!CLOSED_LOOP_TRANSPORTS.includes(transport)) throw new Error(`unknown transport '${transport}' (memory or ros)`);
  const modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
  const episode = makeEpisode(options.suite ?? 'long', options.split ?? 'heldout', options.seed ?? 1);
  const world = await SimWorld.create(episode.layout);
  const linkOptions: RobotLinkOptions = { modelDir, ...(options.replan ? { replan: options.replan } : {}), ...(options.log ? { log: options.log } : {}) };
  let link: RobotLink;
  try {
    // Only the ROS path loads the ROS link (and, through it, rclnodejs).
    link = transport === 'ros' ? await (await import('./rosRobotLink.ts')).createRosRobotLink(linkOptions) : await createMemoryRobotLink(linkOptions);
  } catch (err) {
    world.dispose();
    throw err;
  }
  const steps: ExecutedStep[] = [];
  const planIds = new Set<string>();
  const controller = followSubgoals(link, world, steps, options.log);
  const planSub = link.plans.subscribe((p) => planIds.add(p.plan_id));
  const initialFrame = world.render();
  let error: string | undefined;
  let finalFrame: RgbImage;
  let success: boolean;
  try {
    link.publishFrame(initialFrame);
    await link.sendGoal(episode.goal);
    await controller.idle();
  } catch (err) {
    error = (err as Error).message;
  } finally {
    controller.unsubscribe();
    planSub.unsubscribe();
    try {
      await link.close();
    } finally {
      // The judge and the final frame come from the world, whatever happened to the link.
      finalFrame = world.render();
      success = allHold(world.layout, episode.predicates);
      world.dispose();
    }
  }
  const { id, suite, split, seed, goal } = episode;
  return {
    episode: { id, suite, split, seed, goal },
    modelDir,
    transport,
    initialFrame,
    finalFrame,
    steps,
    plans: planIds.size,
    success,
    ...(error && !success ? { error } : {}),
    elapsedMs: performance.now() - started,
  };
}

/** The in-process link: the bridge pipeline over MemoryTransport, in this process. */
async function createMemoryRobotLink(options: RobotLinkOptions): Promise<RobotLink> {
  const transport = new MemoryTransport();
  const config = parseBridgeConfig({
    transport: 'memory',
    model: { dir: options.modelDir },
    topics: { image: TOPICS.image, goal: TOPICS.goal, feedback: TOPICS.feedback, subgoal: TOPICS.subgoal, plan: TOPICS.plan, status: TOPICS.status, action: TOPICS.action },
    ...(options.replan ? { replan: options.replan } : {}),
  });
  const bridge = await createBridge(config, { transport, ...(options.log ? { log: options.log } : {}) });
  const published = <T>(topic: string): Observable<T> => transport.outputs.pipe(filter((m) => m.topic === topic), map((m) => m.message as T));
  let stamp = 0;
  return {
    transport: 'memory',
    subgoals: published<SubgoalMsg>(TOPICS.subgoal),
    plans: published<PlanMsg>(TOPICS.plan),
    publishFrame: (frame) => transport.inject(TOPICS.image, toImageMsg(frame, { sec: ++stamp, nanosec: 0 })),
    publishFeedback: async (feedback) => transport.inject(TOPICS.feedback, feedback),
    sendGoal: async (instruction) => {
      await transport.sendGoal(TOPICS.action, { instruction });
    },
    close: () => bridge.close(),
  };
}

/** The robot side: executes each newly active subgoal in the simulator, then shows and reports the result. */
function followSubgoals(link: RobotLink, world: SimWorld, steps: ExecutedStep[], log: Logger | undefined): Subscription & { idle(): Promise<void> } {
  const seen = new Set<string>();
  let queue = Promise.resolve();
  const sub = link.subgoals.subscribe((sub) => {
    const key = `${sub.plan_id}#${sub.index}`;
    if (sub.status !== 1 || seen.has(key)) return; // 1 = active
    seen.add(key);
    queue = queue
      .then(async () => {
        const result = executeSubgoal(world, sub.instruction);
        const keyframe = sub.has_keyframe ? await decodeImage(toBytes(sub.keyframe.data)) : undefined;
        const reached = world.render();
        steps.push({
          planId: sub.plan_id,
          index: sub.index,
          instruction: sub.instruction,
          ok: result.ok,
          ...(result.ok ? {} : { reason: `${result.reason}: ${result.message}` }),
          ...(keyframe ? { keyframe, layoutAgreement: compareLayouts(keyframe, reached) } : {}),
          reached,
        });
        link.publishFrame(reached);
        await link.publishFeedback(feedbackToRos(result.ok ? { index: sub.index, status: 'done' } : { index: sub.index, status: 'failed', reason: result.reason }));
      })
      .catch((err) => log?.warn(`robot: subgoal ${key}: ${(err as Error).message}`));
  });
  return Object.assign(sub, { idle: () => queue });
}

function compareLayouts(keyframe: RgbImage, reached: RgbImage): number | undefined {
  try {
    return layoutAgreement(perceiveLayout(keyframe), perceiveLayout(reached));
  } catch {
    return undefined;
  }
}

/** uint8[] as it arrives: a Uint8Array (in memory, rclnodejs typed arrays) or a number array. */
function toBytes(data: Uint8Array | ArrayLike<number>): Uint8Array {
  return data instanceof Uint8Array ? data : Uint8Array.from(data);
}

export function toImageMsg(frame: RgbImage, stamp: { sec: number; nanosec: number }): ImageMsg {
  return {
    header: { stamp, frame_id: 'sim_camera' },
    width: frame.width,
    height: frame.height,
    encoding: 'rgb8',
    is_bigendian: 0,
    step: frame.width * 3,
    data: frame.data,
  };
}
