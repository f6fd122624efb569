/**
 * `npm run bench:bridge [-- --minutes M] [--model DIR] [--goal-every S] [--fast] [--transport memory|ros]`
 * (`--transport ros`: over real DDS, see bridgeRosBench.ts)
 *
 * Replays a synthetic 30 Hz 640×480 rgb8 camera (CDR-encoded like a bag or DDS sample) through the
 * bridge pipeline with the real planner on an ONNX model (default: a tiny random-weight model built
 * on the fly), a goal every few seconds, and reports:
 *  - per-frame overhead: CDR decode + validation + conversion + sampling, p50/p99 (ms);
 *  - goal → first subgoal (ms), p50/p99, and goal → complete plan;
 *  - memory (RSS, heap) sampled each simulated second over the replay;
 *  - the cost of a 4K bgr8 frame on arrival, converted at once vs validated and converted only if a
 *    plan takes it (the pipeline's way), side by side in one run.
 * Paced in real time unless `--fast` (then frames are fed as fast as the loop allows).
 */
import { parseArgs } from 'node:util';
import { CdrCodec } from '../../bridge/messages/CdrCodec.ts';
import { imageFromRos, lazyImageFromRos } from '../../bridge/messages/imageFromRos.ts';
import type { ImageMsg, PlanMsg } from '../../bridge/messages/rosTypes.ts';
import { BridgePipeline } from '../../bridge/pipeline/BridgePipeline.ts';
import { parseBridgeConfig } from '../../bridge/pipeline/BridgeConfig.ts';
import { MemoryTransport } from '../../bridge/transports/MemoryTransport.ts';
import { EmuVlaPlanner } from '../../planners/EmuVlaPlanner.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { benchPlannerModel, percentile } from './benchPlannerModel.ts';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '0.25' },
    model: { type: 'string' },
    'goal-every': { type: 'string', default: '3' },
    fast: { type: 'boolean', default: false },
    width: { type: 'string', default: '640' },
    height: { type: 'string', default: '480' },
    transport: { type: 'string', default: 'memory' },
  },
});
const minutes = Number(values.minutes);
const goalEvery = Number(values['goal-every']);
const width = Number(values.width);
const height = Number(values.height);
const HZ = 30;

const mb = (n: number) => (n / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  const model = await benchPlannerModel(values.model);
  const modelDir = model.dir;
  const backend = await OnnxBackend.load(modelDir, { threads: 1 });
  const transport = new MemoryTransport({ keepPublished: 50 });
  const config = parseBridgeConfig({ planner: { seed: 1 } });
  const pipeline = new BridgePipeline({ transport, planner: new EmuVlaPlanner(backend, { seed: 1 }), config, log: { info() {}, warn: (l) => console.error(l) } });
  pipeline.start();

  const firstSubgoal: number[] = [];
  const complete: number[] = [];
  transport.outputs.subscribe((p) => {
    if (p.topic !== '/emu/plan') return;
    const plan = p.message as PlanMsg;
    if (plan.complete) {
      complete.push(plan.elapsed_ms);
      if (plan.first_subgoal_ms >= 0) firstSubgoal.push(plan.first_subgoal_ms);
    }
  });

  const codec = new CdrCodec();
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31) & 0xff;
  const msg: ImageMsg = { header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'cam' }, width, height, encoding: 'rgb8', is_bigendian: 0, step: width * 3, data: pixels };
  const wire = codec.encode('sensor_msgs/msg/Image', msg);

  const frames = Math.round(minutes * 60 * HZ);
  const overhead: number[] = [];
  const memory: { t: number; rss: number; heap: number }[] = [];
  const started = performance.now();
  let goals = 0;
  for (let i = 0; i < frames; i++) {
    const t = i / HZ;
    if (!values.fast) {
      const due = started + t * 1000 - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
    } else if (i % HZ === 0) await new Promise((r) => setImmediate(r));
    // stamp changes each frame, as from a camera driver: patch sec in the CDR bytes (offset 4)
    new DataView(wire.buffer, wire.byteOffset).setInt32(4, i, true);
    const t0 = performance.now();
    const decoded = codec.decode('sensor_msgs/msg/Image', wire);
    transport.inject('/camera/image_raw', decoded);
    overhead.push(performance.now() - t0);
    if (i % Math.round(goalEvery * HZ) === 0) {
      transport.inject('/emu/goal', { data: `put the red block in the blue bowl #${goals++}` });
    }
    if (i % HZ === 0) {
      const m = process.memoryUsage();
      memory.push({ t, rss: m.rss, heap: m.heapUsed });
    }
  }
  await pipeline.whenIdle();
  const wallS = (performance.now() - started) / 1000;
  const c = pipeline.status.counters;
  await pipeline.stop();
  await backend.close();
  model.cleanup();

  const firstMem = memory[Math.min(memory.length - 1, 2)]!;
  const lastMem = memory.at(-1)!;
  const maxRss = Math.max(...memory.map((m) => m.rss));
  const report = {
    setup: `${frames} frames ${width}x${height} rgb8 at ${HZ} Hz (${minutes} min simulated, ${values.fast ? 'fast' : 'real-time'}), goal every ${goalEvery} s, model ${values.model ?? 'tiny random (maxNewTokens 60)'}, wall ${wallS.toFixed(1)} s`,
    frameOverheadMs: { p50: +percentile(overhead, 50).toFixed(3), p99: +percentile(overhead, 99).toFixed(3), max: +Math.max(...overhead).toFixed(3) },
    goalToFirstSubgoalMs: { p50: +percentile(firstSubgoal, 50).toFixed(1), p99: +percentile(firstSubgoal, 99).toFixed(1), n: firstSubgoal.length },
    goalToCompletePlanMs: { p50: +percentile(complete, 50).toFixed(1), p99: +percentile(complete, 99).toFixed(1), n: complete.length },
    counters: c,
    arrival4kMs: arrivalCost4k(),
    memoryMb: { rssAt2s: mb(firstMem.rss), rssEnd: mb(lastMem.rss), rssMax: mb(maxRss), heapAt2s: mb(firstMem.heap), heapEnd: mb(lastMem.heap) },
  };
  console.log(JSON.stringify(report, null, 2));
  writeSection(report);
}

/** p50 cost of one 3840×2160 bgr8 frame on arrival: eager conversion vs the lazy frame (interleaved, same run). */
function arrivalCost4k(): { eager: number; lazy: number } {
  const w = 3840;
  const h = 2160;
  const msg: ImageMsg = { header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'cam' }, width: w, height: h, encoding: 'bgr8', is_bigendian: 0, step: w * 3, data: new Uint8Array(w * h * 3).fill(9) };
  const eager: number[] = [];
  const lazy: number[] = [];
  for (let i = 0; i < 20; i++) {
    let t = performance.now();
    imageFromRos(msg);
    eager.push(performance.now() - t);
    t = performance.now();
    lazyImageFromRos(msg);
    lazy.push(performance.now() - t);
  }
  return { eager: +percentile(eager, 50).toFixed(2), lazy: +percentile(lazy, 50).toFixed(4) };
}

function writeSection(r: {
  setup: string;
  arrival4kMs: { eager: number; lazy: number };
  frameOverheadMs: { p50: number; p99: number; max: number };
  goalToFirstSubgoalMs: { p50: number; p99: number; n: number };
  goalToCompletePlanMs: { p50: number; p99: number; n: number };
  counters: { plans_completed: number; plans_cancelled: number; plans_failed: number; frames_received: number; frames_used: number; frames_dropped: number; frames_rejected: number };
  memoryMb: { rssAt2s: string; rssEnd: string; rssMax: string; heapAt2s: string; heapEnd: string };
}): void {
  const args = process.argv.slice(2).join(' ');
  const body = [
    `Command: \`npm run bench:bridge${args ? ` -- ${args}` : ''}\` (bin/bench/bridgeBench.ts). ${machineLine()}`,
    `Setup: ${r.setup}; a synthetic camera, CDR-encoded once and decoded per frame (as from a bag or a DDS sample), fed through`,
    'MemoryTransport → BridgePipeline → EmuVlaPlanner → OnnxBackend.',
    '',
    markdownTable(
      ['measure', 'result'],
      [
        ['per-frame overhead (CDR decode + zod check + sampling; the RGB copy only for frames a plan takes), p50 / p99 / max', `${r.frameOverheadMs.p50} / ${r.frameOverheadMs.p99} / ${r.frameOverheadMs.max} ms`],
        ['goal → first subgoal (includes keyframe PNG encode), p50 / p99', `${r.goalToFirstSubgoalMs.p50} / ${r.goalToFirstSubgoalMs.p99} ms (n=${r.goalToFirstSubgoalMs.n})`],
        ['goal → complete plan, p50 / p99', `${r.goalToCompletePlanMs.p50} / ${r.goalToCompletePlanMs.p99} ms (n=${r.goalToCompletePlanMs.n})`],
        ['4K bgr8 frame on arrival, p50: converted at once (before) vs validated, converted only if a plan takes it (now)', `${r.arrival4kMs.eager} ms vs ${r.arrival4kMs.lazy} ms`],
        ['frames received = used + rejected + dropped', `${r.counters.frames_received} = ${r.counters.frames_used} + ${r.counters.frames_rejected} + ${r.counters.frames_dropped}`],
        ['plans completed / cancelled / failed', `${r.counters.plans_completed} / ${r.counters.plans_cancelled} / ${r.counters.plans_failed}`],
        ['RSS at 2 s → end (max)', `${r.memoryMb.rssAt2s} → ${r.memoryMb.rssEnd} MB (${r.memoryMb.rssMax})`],
        ['JS heap at 2 s → end', `${r.memoryMb.heapAt2s} → ${r.memoryMb.heapEnd} MB`],
      ],
    ),
  ].join('\n');
  writeBenchmarkSection('Bridge', body);
}

if (values.transport === 'ros') {
  const { runRosBench } = await import('./bridgeRosBench.ts');
  await runRosBench({ minutes, width, height, goalEvery, ...(values.model ? { model: values.model } : {}) });
} else await main();
