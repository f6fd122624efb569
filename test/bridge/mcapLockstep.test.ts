import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lazyImageFromRos } from '../../bridge/messages/imageFromRos.ts';
import type { BridgeStatusMsg, PlanMsg } from '../../bridge/messages/rosTypes.ts';
import { BridgePipeline } from '../../bridge/pipeline/BridgePipeline.ts';
import { type BridgeConfigInput, parseBridgeConfig } from '../../bridge/pipeline/BridgeConfig.ts';
import { BagWriter } from '../../bridge/transports/BagWriter.ts';
import { McapTransport } from '../../bridge/transports/McapTransport.ts';
import { readBag } from '../../bridge/transports/readBag.ts';
import type { TopicSpec } from '../../bridge/transports/Transport.ts';
import { EmuVlaPlanner } from '../../planners/EmuVlaPlanner.ts';
import { encodePng } from '../../sdk/image/encodePng.ts';
import { createRgbImage } from '../../sdk/image/RgbImage.ts';
import { ScriptedBackend, vlaEvents } from '../planners/ScriptedBackend.ts';
import { recordingLogger, rgbFrame, steps } from './pipelineHarness.ts';

const camera: TopicSpec = { name: '/camera/image_raw', type: 'sensor_msgs/msg/Image', qos: 'sensor_data' };
const compressed: TopicSpec = { name: '/camera/image_raw/compressed', type: 'sensor_msgs/msg/CompressedImage', qos: 'sensor_data' };
const goalTopic: TopicSpec = { name: '/emu/goal', type: 'std_msgs/msg/String', qos: 'reliable' };

type Entry = [TopicSpec, object, number];

function pngFrame(sec: number) {
  const image = createRgbImage(16, 12, [sec * 10, 20, 30]);
  return { header: { stamp: { sec, nanosec: 0 }, frame_id: 'cam' }, format: 'png', data: new Uint8Array(encodePng(image)) };
}

/** Replays `entries` (topic, message, log time in s) through a pipeline in lockstep; returns the recorded plans and last status. */
async function lockstep(dir: string, entries: Entry[], config: BridgeConfigInput = {}, delayMs = 15) {
  const input = path.join(dir, `in-${Math.random().toString(36).slice(2)}.mcap`);
  const bag = await BagWriter.open(input);
  for (const [topic, msg, sec] of entries) await bag.write(topic, msg, BigInt(Math.round(sec * 1e9)));
  await bag.close();
  const output = `${input}.out.mcap`;
  const transport = await McapTransport.create({ replay: input, record: output });
  const planner = new EmuVlaPlanner(new ScriptedBackend(() => vlaEvents(steps), delayMs));
  const pipeline = new BridgePipeline({ transport, planner, config: parseBridgeConfig({ transport: 'mcap', ...config }), log: recordingLogger() });
  pipeline.start();
  await transport.replay({ gate: () => pipeline.whenIdle() });
  await pipeline.whenIdle();
  await pipeline.stop();
  await transport.close();
  const out = await readBag(output);
  const plans = out.messages.filter((m) => m.topic === '/emu/plan').map((m) => m.message as PlanMsg).filter((p) => p.complete);
  const statuses = out.messages.filter((m) => m.topic === '/emu/status').map((m) => m.message as BridgeStatusMsg);
  return { plans, last: statuses.at(-1)! };
}

describe('lockstep replay gives the plan the bag order implies, every run', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'emu-lockstep-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a goal just before the first frame waits for that frame in the bag, not for a wall-clock timeout', async () => {
    const { plans, last } = await lockstep(dir, [
      [goalTopic, { data: 'put the red block in the bowl' }, 1.0],
      [camera, rgbFrame(2), 1.1],
      [camera, rgbFrame(3), 1.2],
    ]);
    assert.equal(last.plans_failed, 0, 'no "no camera frame within 5000 ms"');
    assert.deepEqual(plans.map((p) => p.header.stamp.sec), [2]);
  });

  it('compressed frames are planned from the newest frame before the goal (the decode is part of the gate)', async () => {
    const config = { topics: { compressedImage: compressed.name } };
    const entries: Entry[] = [
      [compressed, pngFrame(1), 1.0],
      [compressed, pngFrame(2), 1.1],
      [goalTopic, { data: 'stack the green block' }, 1.2],
      [compressed, pngFrame(3), 1.3],
      [goalTopic, { data: 'put the red block in the bowl' }, 1.4],
    ];
    const first = await lockstep(dir, entries, config);
    assert.deepEqual(first.plans.map((p) => p.header.stamp.sec), [2, 3]);
    for (let run = 0; run < 2; run++) {
      const again = await lockstep(dir, entries, config, run === 0 ? 1 : 40);
      assert.deepEqual(again.plans.map((p) => [p.goal, p.header.stamp.sec, p.subgoals.length]), first.plans.map((p) => [p.goal, p.header.stamp.sec, p.subgoals.length]));
    }
  });

  it('frame counters add up: received = used + rejected + dropped', async () => {
    const bad = { ...rgbFrame(9), encoding: 'yuv422' };
    const { last } = await lockstep(dir, [
      [camera, rgbFrame(1), 1.0],
      [camera, rgbFrame(2), 1.1],
      [goalTopic, { data: 'put the red block in the bowl' }, 1.2],
      [camera, bad, 1.3],
      [camera, rgbFrame(4), 1.4],
      [camera, rgbFrame(5), 1.5],
      [goalTopic, { data: 'stack the green block' }, 1.6],
      [camera, rgbFrame(7), 1.7],
    ]);
    assert.equal(last.frames_received, 6);
    assert.deepEqual({ used: last.frames_used, rejected: last.frames_rejected, dropped: last.frames_dropped }, { used: 2, rejected: 1, dropped: 3 });
  });

  it('raw frames are validated on arrival but converted only when read (a dropped frame costs no conversion)', () => {
    const msg = { ...rgbFrame(1, 4, 2), encoding: 'bgr8', data: new Uint8Array(24).fill(1) };
    const image = lazyImageFromRos(msg);
    msg.data[0] = 200; // changed after arrival: a lazy conversion sees it, an eager one would not
    assert.equal(image.data[2], 200, 'bgr8 → rgb8 happens at first read');
    assert.equal(image.data, image.data, 'converted once');
    assert.throws(() => lazyImageFromRos({ ...msg, step: 3 }), /step 3 is shorter/);
  });
});
