/**
 * The product's main path, end to end in one process: the simulator is the robot (camera + skill
 * controller), the bridge pipeline (in-memory transport) plans with the VLA model and follows the
 * plan against controller feedback, re-planning when a subgoal fails.
 *
 * transport (memory) → pipeline → EmuVlaPlanner → SDK → ONNX backend, and back as plan/subgoal messages.
 */
import { filter, type Subscription } from 'rxjs';
import { createBridge } from '../bridge/createBridge.ts';
import { type BridgeConfigInput, parseBridgeConfig } from '../bridge/pipeline/BridgeConfig.ts';
import { feedbackToRos } from '../bridge/messages/controllerFeedback.ts';
import type { Logger } from '../bridge/pipeline/StatusReporter.ts';
import { MemoryTransport } from '../bridge/transports/MemoryTransport.ts';
import type { ImageMsg, PlanMsg, SubgoalMsg } from '../bridge/messages/rosTypes.ts';
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

const TOPICS = { image: '/camera/image_raw', goal: '/emu/goal', feedback: '/emu/feedback', subgoal: '/emu/subgoal', plan: '/emu/plan', action: '/emu/plan_task' };

export interface ClosedLoopOptions {
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
  initialFrame: RgbImage;
  finalFrame: RgbImage;
  steps: ExecutedStep[];
  plans: number;
  success: boolean;
  error?: string;
  elapsedMs: number;
}

export async function runClosedLoop(options: ClosedLoopOptions = {}): Promise<ClosedLoopResult> {
  const started = performance.now();
  const modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
  const episode = makeEpisode(options.suite ?? 'long', options.split ?? 'heldout', options.seed ?? 1);
  const world = await SimWorld.create(episode.layout);
  const transport = new MemoryTransport();
  const config = parseBridgeConfig({
    transport: 'memory',
    model: { dir: modelDir },
    topics: { image: TOPICS.image, goal: TOPICS.goal, feedback: TOPICS.feedback, subgoal: TOPICS.subgoal, plan: TOPICS.plan, action: TOPICS.action },
    ...(options.replan ? { replan: options.replan } : {}),
  });
  const bridge = await createBridge(config, { transport, ...(options.log ? { log: options.log } : {}) });
  const steps: ExecutedStep[] = [];
  const planIds = new Set<string>();
  let stamp = 0;
  const publishFrame = () => transport.inject(TOPICS.image, toImageMsg(world.render(), ++stamp));
  const controller = followSubgoals(transport, world, steps, publishFrame);
  const planSub = transport.outputs.pipe(filter((m) => m.topic === TOPICS.plan)).subscribe((m) => planIds.add((m.message as PlanMsg).plan_id));
  const initialFrame = world.render();
  let error: string | undefined;
  try {
    publishFrame();
    await transport.sendGoal(TOPICS.action, { instruction: episode.goal });
  } catch (err) {
    error = (err as Error).message;
  } finally {
    controller.unsubscribe();
    planSub.unsubscribe();
    await bridge.close();
  }
  const finalFrame = world.render();
  const success = allHold(world.layout, episode.predicates);
  world.dispose();
  const { id, suite, split, seed, goal } = episode;
  return {
    episode: { id, suite, split, seed, goal },
    modelDir,
    initialFrame,
    finalFrame,
    steps,
    plans: planIds.size,
    success,
    ...(error && !success ? { error } : {}),
    elapsedMs: performance.now() - started,
  };
}

/** The robot side: executes each newly active subgoal in the simulator, then reports and shows the result. */
function followSubgoals(transport: MemoryTransport, world: SimWorld, steps: ExecutedStep[], publishFrame: () => void): Subscription {
  const seen = new Set<string>();
  let queue = Promise.resolve();
  return transport.outputs.pipe(filter((m) => m.topic === TOPICS.subgoal)).subscribe((m) => {
    const sub = m.message as SubgoalMsg;
    const key = `${sub.plan_id}#${sub.index}`;
    if (sub.status !== 1 || seen.has(key)) return; // 1 = active
    seen.add(key);
    queue = queue.then(async () => {
      const result = executeSubgoal(world, sub.instruction);
      const keyframe = sub.has_keyframe ? await decodeImage(sub.keyframe.data) : undefined;
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
      publishFrame();
      transport.inject(TOPICS.feedback, feedbackToRos(result.ok ? { index: sub.index, status: 'done' } : { index: sub.index, status: 'failed', reason: result.reason }));
    });
  });
}

function compareLayouts(keyframe: RgbImage, reached: RgbImage): number | undefined {
  try {
    return layoutAgreement(perceiveLayout(keyframe), perceiveLayout(reached));
  } catch {
    return undefined;
  }
}

function toImageMsg(frame: RgbImage, sec: number): ImageMsg {
  return {
    header: { stamp: { sec, nanosec: 0 }, frame_id: 'sim_camera' },
    width: frame.width,
    height: frame.height,
    encoding: 'rgb8',
    is_bigendian: 0,
    step: frame.width * 3,
    data: frame.data,
  };
}
