import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { run } from '../../bin/cli/bridgeCommand.ts';
import type { BridgeStatusMsg, ImageMsg, PlanMsg, SubgoalMsg } from '../../bridge/messages/rosTypes.ts';
import { BagWriter } from '../../bridge/transports/BagWriter.ts';
import { readBag } from '../../bridge/transports/readBag.ts';
import { createRgbImage, type RgbImage } from '../../sdk/image/RgbImage.ts';
import { buildTinyModel } from '../kit/buildTinyModel.ts';
import { assertValidMcap } from './mcapCheck.ts';
import { waitFor } from './pipelineHarness.ts';

/** Simulator frames when sim/ is importable, else synthetic ones (the test is about the bridge). */
async function frames(count: number): Promise<{ images: RgbImage[]; source: string }> {
  try {
    const { makeEpisode } = await import('../../sim/tasks/suites.ts');
    const { renderLayout } = await import('../../sim/render/renderLayout.ts');
    const episode = makeEpisode('spatial', 'train', 1);
    return { images: Array.from({ length: count }, () => renderLayout(episode.layout, { width: 64, height: 64 })), source: 'sim' };
  } catch {
    return { images: Array.from({ length: count }, (_, i) => createRgbImage(64, 64, [40 * i, 100, 200])), source: 'synthetic' };
  }
}

function toImageMsg(image: RgbImage, sec: number, nanosec: number): ImageMsg {
  // bgr8 with 4 bytes of row padding, to exercise the conversion on the real path
  const step = image.width * 3 + 4;
  const data = new Uint8Array(step * image.height);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const s = (y * image.width + x) * 3;
      const d = y * step + x * 3;
      data[d] = image.data[s + 2]!;
      data[d + 1] = image.data[s + 1]!;
      data[d + 2] = image.data[s]!;
    }
  }
  return { header: { stamp: { sec, nanosec }, frame_id: 'overhead_cam' }, width: image.width, height: image.height, encoding: 'bgr8', is_bigendian: 0, step, data };
}

describe('bridge end to end over MCAP with a real ONNX model', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'emu-e2e-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('replays frames + goals through `emu bridge --transport mcap` and records plans tied to their frames', async () => {
    const modelDir = path.join(dir, 'model');
    const probe = await buildTinyModel(modelDir, { seed: 3 });
    const { boi, eos } = probe.manifest.vocab.ids;
    await buildTinyModel(modelDir, { seed: 3, logitBias: { [boi]: 6, [eos]: 2.5 }, tasks: { vla: { sampling: { maxNewTokens: 60 } } } });

    const input = path.join(dir, 'in.mcap');
    const output = path.join(dir, 'out.mcap');
    const bag = await BagWriter.open(input, { compression: 'zstd' });
    const { images } = await frames(6);
    const camera = { name: '/camera/image_raw', type: 'sensor_msgs/msg/Image', qos: 'sensor_data' } as const;
    const goalTopic = { name: '/emu/goal', type: 'std_msgs/msg/String', qos: 'reliable' } as const;
    for (let i = 0; i < images.length; i++) await bag.write(camera, toImageMsg(images[i]!, 1000, i * 100_000_000), 1_000_000_000_000n + BigInt(i) * 100_000_000n);
    await bag.write(goalTopic, { data: 'put the red block in the blue bowl' }, 1_000_150_000_000n);
    await bag.write(goalTopic, { data: '' }, 1_000_250_000_000n);
    await bag.write(goalTopic, { data: 'stack the green block on the red block' }, 1_000_350_000_000n);
    await bag.close();

    const code = await run(['--transport', 'mcap', '--model', modelDir, '--replay', input, '--record', output, '--compression', 'lz4', '--threads', '1', '--seed', '1']);
    assert.equal(code, 0);

    const out = await readBag(output);
    assert.equal(out.profile, 'ros2');
    assert.ok(out.chunkCompression.every((c) => c === 'lz4'));
    assert.ok(out.schemas.every((s) => s.encoding === 'ros2msg'));
    const planSchema = out.schemas.find((s) => s.name === 'emu_robotics_msgs/msg/Plan')!.text;
    for (const dep of ['emu_robotics_msgs/Subgoal', 'std_msgs/Header', 'builtin_interfaces/Time', 'sensor_msgs/CompressedImage']) {
      assert.equal(planSchema.split(`\nMSG: ${dep}\n`).length, 2, `${dep} defined exactly once`);
    }

    const plans = out.messages.filter((m) => m.topic === '/emu/plan').map((m) => m.message as PlanMsg);
    const complete = plans.filter((p) => p.complete);
    assert.deepEqual(complete.map((p) => p.goal), ['put the red block in the blue bowl', 'stack the green block on the red block']);
    // lockstep replay: each plan uses the newest frame before its goal (t=0.1 s and t=0.3 s)
    assert.deepEqual(complete.map((p) => p.header), [
      { stamp: { sec: 1000, nanosec: 100_000_000 }, frame_id: 'overhead_cam' },
      { stamp: { sec: 1000, nanosec: 300_000_000 }, frame_id: 'overhead_cam' },
    ]);
    const planLogTimes = out.messages.filter((m) => m.topic === '/emu/plan' && (m.message as PlanMsg).complete).map((m) => m.logTimeNs);
    assert.deepEqual(planLogTimes, [1_000_150_000_000n, 1_000_350_000_000n], 'outputs recorded on the replay clock');

    for (const plan of complete) {
      assert.ok(plan.subgoals.length >= 1, 'the biased tiny model produces subgoals');
      assert.deepEqual(plan.subgoals.map((s) => s.index), plan.subgoals.map((_, i) => i));
      assert.ok(plan.generated_tokens > 0 && plan.generated_tokens <= 60);
      assert.equal(plan.source_width, 64);
      const published = out.messages.filter((m) => m.topic === '/emu/subgoal').map((m) => m.message as SubgoalMsg).filter((s) => s.plan_id === plan.plan_id);
      assert.deepEqual(published.map((s) => s.index), plan.subgoals.map((s) => s.index), 'subgoals published once each, in order');
      const withKeyframes = plan.subgoals.filter((s) => s.has_keyframe);
      assert.ok(withKeyframes.length >= 1);
      for (const s of withKeyframes) {
        assert.deepEqual(s.keyframe.header, plan.header, 'keyframe stamped with the source frame');
        const meta = await sharp(s.keyframe.data).metadata();
        assert.equal(meta.format, 'png');
        assert.ok(meta.width! > 0 && meta.height! > 0);
      }
    }
    const statuses = out.messages.filter((m) => m.topic === '/emu/status').map((m) => m.message as BridgeStatusMsg);
    const last = statuses.at(-1)!;
    assert.equal(last.plans_completed, 2);
    assert.equal(last.goals_rejected, 1);
    assert.equal(last.frames_received, 6);
    assert.equal(last.frames_used + last.frames_rejected + last.frames_dropped, 6, 'every frame is used, rejected or dropped');
    assert.ok(statuses.some((s) => s.error_message.includes('goal is empty')));
  });

  describe('whatever ends the run, the recorded bag is finished', () => {
    const camera = { name: '/camera/image_raw', type: 'sensor_msgs/msg/Image', qos: 'sensor_data' } as const;
    const goalTopic = { name: '/emu/goal', type: 'std_msgs/msg/String', qos: 'reliable' } as const;
    let modelDir: string;
    before(async () => {
      modelDir = path.join(dir, 'model-finish');
      const probe = await buildTinyModel(modelDir, { seed: 3 });
      const { boi, eos } = probe.manifest.vocab.ids;
      await buildTinyModel(modelDir, { seed: 3, logitBias: { [boi]: 6, [eos]: 2.5 }, tasks: { vla: { sampling: { maxNewTokens: 60 } } } });
    });

    it('a bag with none of the subscribed topics: the real error, a non-zero exit, a valid output bag', async () => {
      const input = path.join(dir, 'other-topics.mcap');
      const bag = await BagWriter.open(input);
      await bag.write({ name: '/tf', type: 'std_msgs/msg/String', qos: 'reliable' }, { data: 'x' }, 5n);
      await bag.close();
      const output = path.join(dir, 'other-out.mcap');
      await assert.rejects(run(['--transport', 'mcap', '--model', modelDir, '--replay', input, '--record', output, '--threads', '1']), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'transport_failed');
        assert.match(err.message, /has none of the subscribed topics .*it has \/tf \(std_msgs\/msg\/String, 1 messages\)/);
        return true;
      });
      assert.ok((await assertValidMcap(output)) >= 1, 'the final status is in the finished bag');
      const statuses = (await readBag(output)).messages.filter((m) => m.topic === '/emu/status');
      assert.ok(statuses.length >= 1);
    });

    it('SIGINT during `emu bridge --record` finishes the bag with everything recorded so far and exits 130', async () => {
      const input = path.join(dir, 'long.mcap');
      const bag = await BagWriter.open(input);
      const { images } = await frames(1);
      for (let i = 0; i < 400; i++) {
        await bag.write(camera, toImageMsg(images[0]!, 2000 + i, 0), BigInt(2000 + i) * 1_000_000_000n);
        await bag.write(goalTopic, { data: i % 2 ? 'stack the green block on the red block' : 'put the red block in the blue bowl' }, BigInt(2000 + i) * 1_000_000_000n + 1n);
      }
      await bag.close();
      const output = path.join(dir, 'interrupted.mcap');
      const emu = path.resolve('bin/emu.js');
      const child = spawn(process.execPath, [emu, 'bridge', '--transport', 'mcap', '--model', modelDir, '--replay', input, '--record', output, '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Interrupt once plans are being recorded (the first chunk is on disk).
      await waitFor(() => { try { return statSync(output).size > 2000; } catch { return false; } }, 60_000);
      child.kill('SIGINT');
      assert.equal(await exited, 130, stderr);
      assert.match(stderr, /SIGINT: stopping, finishing/);
      assert.match(stderr, /stopped early/);
      assert.ok((await assertValidMcap(output)) > 0);
      const plans = (await readBag(output)).messages.filter((m) => m.topic === '/emu/plan' && (m.message as PlanMsg).complete);
      assert.ok(plans.length >= 1 && plans.length < 400, `${plans.length} plans recorded before the interrupt`);
    });
  });
});
