// A user's program written only against the package's exports (`emu-robotics/…`), never by path.
// test/consumer.test.ts type-checks it with tsconfig.json here; it is not run.
import {
  OnnxBackend,
  DEFAULT_MODEL_DIR,
  t2i,
  vla,
  collect,
  createRgbImage,
  encodePng,
  decodeImage,
  exportResult,
  SdkError,
  InputError,
  type EmuBackend,
  type GenerationEvent,
  type GenerationResult,
  type TaskRequest,
  type RgbImage,
} from 'emu-robotics/sdk';
import { EmuVlaPlanner, PlanExecutor, TrivialPlanner, type Planner, type PlanRequest, type PlanResult } from 'emu-robotics/planners';
import { createBridge, parseBridgeConfig, MemoryTransport, type Bridge, type Transport } from 'emu-robotics/bridge';
import { evaluate, makeEpisode, registerPlanner, SimWorld, renderLayout, type EvalReport, type Episode } from 'emu-robotics/sim';

export async function sdkUser(): Promise<void> {
  const backend: EmuBackend = await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 1 });
  try {
    const frame: RgbImage = createRgbImage(128, 128, [200, 190, 170]);
    const plan: GenerationResult = await vla(backend, { prompt: 'put the red block in the blue bowl', images: [frame] });
    const request: TaskRequest = { task: 't2i', prompt: 'a red block in the green bowl', seed: 7 };
    const events: GenerationEvent[] = [];
    await collect(backend.generate(request));
    backend.generate(request).subscribe((e) => events.push(e));
    const image = await t2i(backend, { prompt: 'a red block' });
    await exportResult('out/consumer', { question: 'q', references: [], output: image.output });
    const png: Uint8Array = encodePng(frame);
    const back: RgbImage = await decodeImage(png);
    console.log(plan.output.length, back.width);
  } catch (err) {
    if (err instanceof InputError) console.error(err.code);
    else if (err instanceof SdkError) throw err;
  } finally {
    await backend.close();
  }
}

/** A planner of one's own, evaluated by the harness like the built-ins. */
class MyPlanner implements Planner {
  readonly name = 'mine';
  async plan(request: PlanRequest): Promise<PlanResult> {
    return { subgoals: [{ instruction: `do: ${request.goal}` }], latencyMs: 0 };
  }
}

export async function simUser(): Promise<number> {
  registerPlanner('mine', async () => new MyPlanner());
  const episode: Episode = makeEpisode('spatial', 'heldout', 0);
  const world = await SimWorld.create(episode.layout, { physics: false });
  const frame: RgbImage = renderLayout(world.layout);
  world.dispose();
  const report: EvalReport = await evaluate({ planner: 'mine', suite: 'spatial', episodes: 1 });
  return report.overall.successRate + frame.width;
}

export async function bridgeUser(backend: EmuBackend): Promise<void> {
  const planner: Planner = new EmuVlaPlanner(backend);
  void new PlanExecutor(planner);
  void new TrivialPlanner();
  const transport: Transport = new MemoryTransport();
  void transport;
  const bridge: Bridge = await createBridge(parseBridgeConfig({ transport: 'memory', model: { dir: DEFAULT_MODEL_DIR } }));
  await bridge.close();
}
