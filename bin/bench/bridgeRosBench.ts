/**
 * `npm run bench:bridge -- --transport ros [--minutes M]` (with `source bridge/ros/env.sh` first):
 * the bridge on real rclnodejs over Cyclone DDS (loopback) with a camera in another process at 30 Hz
 * 640×480 rgb8 and a goal every few seconds. Reports, beside the in-memory figures of the same
 * section's first table: one-way frame latency (camera stamp → the bridge's callback), per-frame
 * overhead inside the bridge, frames delivered of those sent, and goal → first subgoal / complete
 * plan as the robot process sees them.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Observable } from 'rxjs';
import { BridgePipeline } from '../../bridge/pipeline/BridgePipeline.ts';
import { parseBridgeConfig } from '../../bridge/pipeline/BridgeConfig.ts';
import { RosTransport } from '../../bridge/transports/RosTransport.ts';
import type { TopicSpec, Transport } from '../../bridge/transports/Transport.ts';
import { EmuVlaPlanner } from '../../planners/EmuVlaPlanner.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { benchPlannerModel, percentile } from './benchPlannerModel.ts';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';

const fmt = (xs: number[], d = 1) => `${percentile(xs, 50).toFixed(d)} / ${percentile(xs, 99).toFixed(d)} ms (n=${xs.length})`;

export async function runRosBench(opts: { minutes: number; width: number; height: number; goalEvery: number; model?: string }): Promise<void> {
  if (!process.env.AMENT_PREFIX_PATH) throw new Error('source bridge/ros/env.sh first (after bash bridge/ros/setup.sh)');
  const model = await benchPlannerModel(opts.model);
  const modelDir = model.dir;
  const backend = await OnnxBackend.load(modelDir, { threads: 1 });
  const ros = await RosTransport.create({ nodeName: 'emu_bridge_bench' });
  const latency: number[] = [];
  const overhead: number[] = [];
  // Times the camera path: arrival (vs the camera's stamp) and the pipeline's synchronous handling.
  const transport: Transport = {
    kind: 'ros',
    publish: (topic, message) => ros.publish(topic, message),
    close: () => ros.close(),
    serveAction: (name, handler, check) => ros.serveAction(name, handler, check),
    subscribe: (topic: TopicSpec) =>
      topic.type !== 'sensor_msgs/msg/Image'
        ? ros.subscribe(topic)
        : new Observable<unknown>((sub) =>
            ros.subscribe(topic).subscribe((m) => {
              const stamp = (m as { header: { stamp: { sec: number; nanosec: number } } }).header.stamp;
              latency.push(Date.now() - (stamp.sec * 1000 + stamp.nanosec / 1e6));
              const t0 = performance.now();
              sub.next(m);
              overhead.push(performance.now() - t0);
            }),
          ),
  };
  const pipeline = new BridgePipeline({ transport, planner: new EmuVlaPlanner(backend, { seed: 1 }), config: parseBridgeConfig({ transport: 'ros', planner: { seed: 1 } }), log: { info() {}, warn() {} } });
  pipeline.start();
  const seconds = opts.minutes * 60;
  const robot = spawn(process.execPath, [path.join(import.meta.dirname, 'rosCamera.cjs'), String(seconds), String(opts.width), String(opts.height), String(opts.goalEvery)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  robot.stdout.on('data', (d) => (out += d));
  await new Promise((r) => robot.on('exit', r));
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { framesSent: number; goals: number; firstSubgoal: number[]; complete: number[] };
  const c = pipeline.status.counters;
  await pipeline.stop();
  await ros.close();
  await backend.close();
  model.cleanup();
  const rows = [
    ['camera stamp → bridge callback (one-way DDS latency), p50 / p99', fmt(latency, 2)],
    ['per-frame overhead in the bridge (CDR already decoded by rclnodejs; zod check + sampling), p50 / p99', fmt(overhead, 3)],
    ['frames delivered / sent (sensor-data QoS: best effort)', `${c.frames_received} / ${r.framesSent}`],
    ['goal published → first subgoal received (robot process), p50 / p99', fmt(r.firstSubgoal)],
    ['goal published → complete plan received (robot process), p50 / p99', fmt(r.complete)],
    ['plans completed / cancelled / failed', `${c.plans_completed} / ${c.plans_cancelled} / ${c.plans_failed}`],
  ];
  console.log(JSON.stringify(Object.fromEntries(rows), null, 2));
  const args = process.argv.slice(2).join(' ');
  writeBenchmarkSection(
    'Bridge over ROS 2',
    [
      `Command: \`source bridge/ros/env.sh && npm run bench:bridge -- ${args}\` (bin/bench/bridgeRosBench.ts). ${machineLine()}`,
      `Setup: rclnodejs 2.2.0 on the ROS 2 Jazzy core (Cyclone DDS, loopback only); a camera in a second process at 30 Hz ${opts.width}x${opts.height} rgb8 for ${seconds} s, a goal every ${opts.goalEvery} s; the bridge pipeline with the real planner on ${opts.model ?? 'a tiny random model (maxNewTokens 60)'}. The in-memory figures are in the Bridge section.`,
      '',
      markdownTable(['measure', 'result'], rows),
    ].join('\n'),
  );
}
