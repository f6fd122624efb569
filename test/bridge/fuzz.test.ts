import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CdrCodec } from '../../bridge/messages/CdrCodec.ts';
import { imageFromRos } from '../../bridge/messages/imageFromRos.ts';
import { ImageMsgSchema } from '../../bridge/messages/rosTypes.ts';
import { SdkError } from '../../sdk/errors.ts';
import { mulberry32 } from '../../sdk/generation/mulberry32.ts';
import { makePipeline, rgbFrame, tick } from './pipelineHarness.ts';
import { assertValidMcap } from './mcapCheck.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BagWriter } from '../../bridge/transports/BagWriter.ts';
import { McapTransport } from '../../bridge/transports/McapTransport.ts';
import type { TopicSpec, TransportProblem } from '../../bridge/transports/Transport.ts';

/** Seeded PRNG (the SDK's mulberry32) so every run feeds the same messages. */
function prng(seed: number) {
  const next = mulberry32(seed);
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const ENCODINGS = ['rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8', 'yuv422', '', '16UC1', 'RGB8'];
const WEIRD = [null, undefined, 0, -1, NaN, 'x', [], {}, [1, 2, 3], true, 1e12];

function randomImageMessage(r: ReturnType<typeof prng>): unknown {
  const w = r.pick([0, 1, 3, 8, 17, 64, 7680, 100000]);
  const h = r.pick([0, 1, 2, 6, 31, 4320]);
  const encoding = r.pick(ENCODINGS);
  const bpp = { rgb8: 3, bgr8: 3, rgba8: 4, bgra8: 4, mono8: 1 }[encoding] ?? 3;
  const step = Math.max(0, w * bpp + r.pick([0, 0, 0, 1, 5, -1, -7]));
  const len = Math.min(200_000, Math.max(0, step * h + r.pick([0, 0, -1, -100, 3])));
  const msg: Record<string, unknown> = { header: { stamp: { sec: r.int(1e6), nanosec: r.int(1e9) }, frame_id: 'cam' }, width: w, height: h, encoding, is_bigendian: 0, step, data: new Uint8Array(len) };
  if (r.next() < 0.3) msg[r.pick(Object.keys(msg))] = r.pick(WEIRD);
  if (r.next() < 0.05) return r.pick(WEIRD);
  return msg;
}

function randomGoal(r: ReturnType<typeof prng>): unknown {
  const kind = r.int(6);
  if (kind === 0) return { data: '' };
  if (kind === 1) return { data: ' \n\t ' };
  if (kind === 2) return { data: 'x'.repeat(2001 + r.int(100_000)) };
  if (kind === 3) return { data: r.pick(WEIRD) };
  if (kind === 4) return r.pick(WEIRD);
  return { nodata: 'stack' };
}

describe('bridge fuzz', function () {
  this.timeout(60_000);

  it('survives thousands of random and mutated messages with no crash and no leak, and still plans', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const { transport, pipeline } = makePipeline({}, 0, 100);
    const r = prng(1234);
    const feed = (n: number) => {
      for (let i = 0; i < n; i++) {
        const roll = r.next();
        if (roll < 0.7) transport.inject('/camera/image_raw', randomImageMessage(r));
        else if (roll < 0.95) transport.inject('/emu/goal', randomGoal(r));
        else transport.inject('/camera/image_raw', rgbFrame(r.int(100)));
      }
    };
    feed(500);
    await tick(5);
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const handlesBefore = process.getActiveResourcesInfo().length;
    for (let round = 0; round < 6; round++) {
      feed(500);
      await tick(1);
    }
    await pipeline.whenIdle();
    gc();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    const handlesAfter = process.getActiveResourcesInfo().length;
    const c = pipeline.status.counters;

    assert.deepEqual(unhandled, []);
    assert.ok(c.frames_rejected > 1000, `frames rejected: ${c.frames_rejected}`);
    assert.ok(c.goals_rejected > 500, `goals rejected: ${c.goals_rejected}`);
    assert.equal(c.plans_failed, 0);
    assert.ok(heapGrowthMb < 40, `heap grew ${heapGrowthMb.toFixed(1)} MB over 3000 messages`);
    assert.ok(handlesAfter <= handlesBefore + 5, `handles ${handlesBefore} → ${handlesAfter}`);
    assert.ok(pipeline.status.distinctProblems < 200, 'problems are deduplicated by reason');

    // still healthy: a good frame and goal produce a complete plan from that frame
    transport.inject('/camera/image_raw', rgbFrame(4242));
    const plan = await pipeline.submitGoal('put the cube in the bowl');
    assert.equal(plan.complete, true);
    assert.equal(plan.source.stamp.sec, 4242);
    process.off('unhandledRejection', onUnhandled);
    await pipeline.stop();
  });

  it('mutated CDR bytes fail only with typed errors', () => {
    const codec = new CdrCodec();
    const good = codec.encode('sensor_msgs/msg/Image', rgbFrame(1, 16, 8));
    const r = prng(99);
    let decoded = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = good.slice(0, r.next() < 0.2 ? r.int(good.length) : good.length);
      for (let k = 0, n = 1 + r.int(8); k < n && bytes.length > 0; k++) bytes[r.int(Math.min(bytes.length, 64))] = r.int(256);
      try {
        const msg = ImageMsgSchema.parse(codec.decode('sensor_msgs/msg/Image', bytes));
        imageFromRos(msg);
        decoded += 1;
      } catch (err) {
        const typed = err instanceof SdkError || (err as Error).name === 'ZodError';
        assert.ok(typed, `untyped failure: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
    assert.ok(decoded > 0 && decoded < 2000);
  });

  it('whole bags: truncated, corrupted chunks and records, good and bad messages interleaved', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'emu-bagfuzz-'));
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const camera: TopicSpec = { name: '/camera/image_raw', type: 'sensor_msgs/msg/Image', qos: 'sensor_data' };
    const goalTopic: TopicSpec = { name: '/emu/goal', type: 'std_msgs/msg/String', qos: 'reliable' };
    const r = prng(4321);
    let damagedRuns = 0;
    let cleanRuns = 0;
    try {
      for (let run = 0; run < 40; run++) {
        const input = path.join(dir, `in${run}.mcap`);
        const compression = r.pick(['none', 'zstd', 'lz4'] as const);
        const bag = await BagWriter.open(input, { compression, chunkSize: 200 + r.int(2000) });
        const goals = new Set<string>();
        let written = 0;
        for (let i = 0; i < 30; i++) {
          const t = BigInt(i + 1) * 10_000_000n;
          const roll = r.next();
          if (roll < 0.5) await bag.write(camera, r.next() < 0.8 ? rgbFrame(i) : { ...rgbFrame(i), encoding: r.pick(ENCODINGS) }, t);
          else if (roll < 0.8) {
            const text = `goal ${run}.${i} ${r.next() < 0.1 ? '' : 'put the cube in the bowl'}`;
            goals.add(text);
            await bag.write(goalTopic, { data: text }, t);
          } else await bag.writeEncoded(r.next() < 0.5 ? camera : goalTopic, new Uint8Array(r.int(12)).map(() => r.int(256)), t); // undecodable
          written += 1;
        }
        await bag.close();
        const buf = readFileSync(input);
        const damage = r.int(4);
        if (damage === 1) writeFileSync(input, buf.subarray(0, 8 + r.int(buf.length - 8)));
        else if (damage === 2) {
          for (let k = 0, n = 1 + r.int(6); k < n; k++) buf[8 + r.int(buf.length - 8)] = r.int(256);
          writeFileSync(input, buf);
        } else if (damage === 3) {
          const at = 8 + r.int(buf.length - 40);
          buf.writeBigUInt64LE(BigInt(r.int(1 << 20)) * (r.next() < 0.5 ? 1n : 1n << 30n), at);
          writeFileSync(input, buf);
        }

        const output = path.join(dir, `out${run}.mcap`);
        const transport = await McapTransport.create({ replay: input, record: output });
        const { pipeline } = makePipeline({ transport: 'mcap' }, 0, 0, transport);
        const delivered: string[] = [];
        const problems: TransportProblem[] = [];
        transport.subscribe(goalTopic).subscribe((m) => delivered.push((m as { data: string }).data));
        transport.problems.subscribe((p) => problems.push(p));
        let stats: Awaited<ReturnType<McapTransport['replay']>> | undefined;
        try {
          stats = await transport.replay({ gate: () => pipeline.whenIdle() });
        } catch (err) {
          assert.ok(err instanceof SdkError, `untyped replay failure in run ${run}: ${(err as Error).message}`);
        }
        await pipeline.whenIdle();
        await pipeline.stop();
        await transport.close();

        // Every goal read is one that was written, once; nothing read is invented by damage.
        assert.equal(new Set(delivered).size, delivered.length, `run ${run}: a goal delivered twice`);
        for (const g of delivered) assert.ok(goals.has(g), `run ${run}: invented goal ${JSON.stringify(g).slice(0, 80)}`);
        const bagDamage = problems.filter((p) => p.code !== 'undecodable' && p.code !== 'unknown_schema');
        if (stats && bagDamage.length === 0 && damage === 0) {
          cleanRuns += 1;
          assert.equal(stats.read, written, `run ${run}: an undamaged bag replays every message`);
          assert.equal(delivered.length, goals.size);
        }
        if (bagDamage.length > 0) damagedRuns += 1;
        // Every message read is accounted for: used, rejected or dropped (frames); planned or rejected (goals).
        const c = pipeline.status.counters;
        assert.equal(c.frames_received, c.frames_used + c.frames_rejected + c.frames_dropped, `run ${run}: frame counters`);
        assert.equal(c.goals_received, c.goals_rejected + c.plans_completed + c.plans_cancelled + c.plans_failed, `run ${run}: goal counters`);
        await assertValidMcap(output);
      }
    } finally {
      process.off('unhandledRejection', onUnhandled);
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(unhandled, []);
    assert.ok(damagedRuns >= 10 && cleanRuns >= 5, `damaged ${damagedRuns}, clean ${cleanRuns}`);
  });
});
