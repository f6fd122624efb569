import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { McapWriter } from '@mcap/core';
import { FileHandleWritable } from '@mcap/nodejs';
import { CdrCodec } from '../../bridge/messages/CdrCodec.ts';
import { completeDefinition } from '../../bridge/messages/rosSchemas.ts';
import { BagWriter } from '../../bridge/transports/BagWriter.ts';
import { McapTransport } from '../../bridge/transports/McapTransport.ts';
import { readBag } from '../../bridge/transports/readBag.ts';
import { type BagDamage, scanBag } from '../../bridge/transports/scanBag.ts';
import type { TopicSpec, TransportProblem } from '../../bridge/transports/Transport.ts';
import { assertValidMcap } from './mcapCheck.ts';
import { waitFor } from './pipelineHarness.ts';

const goal: TopicSpec = { name: '/emu/goal', type: 'std_msgs/msg/String', qos: 'reliable' };
const status: TopicSpec = { name: '/emu/status', type: 'std_msgs/msg/String', qos: 'latched' };

/** A bag of `n` goal messages 'g0'…, `perChunk` per chunk, uncompressed unless asked (so tests can find and damage bytes). */
async function goalBag(file: string, n: number, perChunk: number, compression: 'none' | 'zstd' = 'none'): Promise<void> {
  const bag = await BagWriter.open(file, { compression, chunkSize: 1 << 30 });
  for (let i = 0; i < n; i++) {
    await bag.write(goal, { data: `g${i}` }, BigInt(i + 1) * 1_000_000n);
    if ((i + 1) % perChunk === 0) await bag.flush();
  }
  await bag.close();
}

/** Byte offsets of every chunk record in a bag (walks the top-level records). */
function chunkOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let at = 8; at + 9 <= buf.length; ) {
    const op = buf[at]!;
    const len = Number(buf.readBigUInt64LE(at + 1));
    if (op === 0x06) out.push(at);
    if (op === 0x0f) break;
    at += 9 + len;
  }
  return out;
}

async function replayGoals(file: string): Promise<{ goals: string[]; problems: TransportProblem[]; stats: Awaited<ReturnType<McapTransport['replay']>> }> {
  const t = await McapTransport.create({ replay: file });
  const goals: string[] = [];
  const problems: TransportProblem[] = [];
  t.subscribe(goal).subscribe((m) => goals.push((m as { data: string }).data));
  t.problems.subscribe((p) => problems.push(p));
  try {
    return { goals, problems, stats: await t.replay() };
  } finally {
    await t.close();
  }
}

describe('bag recovery: replay reads what survives, recording always finishes', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'emu-bag-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replays an unindexed bag (no chunk index, no summary) in full', async () => {
    const file = path.join(dir, 'unindexed.mcap');
    const handle = await open(file, 'w');
    const w = new McapWriter({ writable: new FileHandleWritable(handle), useChunkIndex: false, useMessageIndex: false, useStatistics: false, useSummaryOffsets: false, repeatChannels: false, repeatSchemas: false, chunkSize: 40 });
    await w.start({ profile: 'ros2', library: 'test' });
    const schemaId = await w.registerSchema({ name: goal.type, encoding: 'ros2msg', data: new TextEncoder().encode(completeDefinition(goal.type)) });
    const channelId = await w.registerChannel({ schemaId, topic: goal.name, messageEncoding: 'cdr', metadata: new Map() });
    const codec = new CdrCodec();
    for (let i = 0; i < 7; i++) await w.addMessage({ channelId, sequence: i, logTime: BigInt(i), publishTime: BigInt(i), data: codec.encode(goal.type, { data: `g${i}` }) });
    await w.end();
    await handle.close();
    const { goals, problems } = await replayGoals(file);
    assert.deepEqual(goals, ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6']);
    assert.deepEqual(problems, []);
  });

  it('skips a chunk with a bad CRC in the middle, reports it once with a code, and replays the rest', async () => {
    const file = path.join(dir, 'crc.mcap');
    await goalBag(file, 9, 3);
    const buf = readFileSync(file);
    const second = chunkOffsets(buf)[1]!;
    buf[second + 9 + 40 + 30] ^= 0xff; // a byte inside the second chunk's records
    writeFileSync(file, buf);
    const { goals, problems, stats } = await replayGoals(file);
    assert.deepEqual(goals, ['g0', 'g1', 'g2', 'g6', 'g7', 'g8']);
    assert.deepEqual(problems.map((p) => p.code), ['chunk_corrupt']);
    assert.match(problems[0]!.reason, new RegExp(`chunk at byte ${second} fails its CRC check`));
    assert.equal(stats.damaged, 1);
  });

  it('replays the complete chunks of a bag cut off by a killed recorder, and says where it was cut', async () => {
    const file = path.join(dir, 'cut.mcap');
    await goalBag(file, 9, 3, 'zstd');
    const buf = readFileSync(file);
    const third = chunkOffsets(buf)[2]!;
    for (const cut of [third + 20, third + 4]) {
      writeFileSync(file, buf.subarray(0, cut));
      const { goals, problems } = await replayGoals(file);
      assert.deepEqual(goals, ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'], `cut at ${cut}`);
      assert.deepEqual(problems.map((p) => p.code), ['bag_truncated']);
    }
  });

  it('rejects a chunk that claims an absurd size with a typed report, not an allocation failure', async () => {
    const file = path.join(dir, 'absurd.mcap');
    await goalBag(file, 6, 3, 'zstd');
    const buf = readFileSync(file);
    const first = chunkOffsets(buf)[0]!;
    buf.writeBigUInt64LE(1n << 50n, first + 9 + 16); // uncompressed_size
    writeFileSync(file, buf);
    const { goals, problems } = await replayGoals(file);
    assert.deepEqual(goals, ['g3', 'g4', 'g5']);
    assert.deepEqual(problems.map((p) => p.code), ['chunk_too_large']);
  });

  it('resynchronises after a chunk whose length field is corrupt', async () => {
    const file = path.join(dir, 'framing.mcap');
    await goalBag(file, 9, 3);
    const buf = readFileSync(file);
    const second = chunkOffsets(buf)[1]!;
    buf.writeBigUInt64LE(17n, second + 1); // a plausible but wrong record length
    writeFileSync(file, buf);
    const { goals, problems } = await replayGoals(file);
    assert.deepEqual(goals, ['g0', 'g1', 'g2', 'g6', 'g7', 'g8']);
    assert.ok(problems.length >= 1 && problems.every((p) => p.code === 'chunk_corrupt' || p.code === 'record_corrupt'));
  });

  it('keeps channels defined in a damaged chunk usable through the summary', async () => {
    const file = path.join(dir, 'summary.mcap');
    await goalBag(file, 6, 3);
    const buf = readFileSync(file);
    const first = chunkOffsets(buf)[0]!; // defines the schema and channel
    buf[first + 9 + 40 + 10] ^= 0x55;
    writeFileSync(file, buf);
    const { goals, problems } = await replayGoals(file);
    assert.deepEqual(goals, ['g3', 'g4', 'g5']);
    assert.deepEqual(problems.map((p) => p.code), ['chunk_corrupt']);
  });

  it('replays in log-time order across chunks written out of order', async () => {
    const file = path.join(dir, 'order.mcap');
    const bag = await BagWriter.open(file, { compression: 'none' });
    for (const t of [5, 6]) await bag.write(goal, { data: `t${t}` }, BigInt(t));
    await bag.flush();
    for (const t of [1, 2, 7]) await bag.write(goal, { data: `t${t}` }, BigInt(t));
    await bag.close();
    assert.deepEqual((await replayGoals(file)).goals, ['t1', 't2', 't5', 't6', 't7']);
  });

  it('accepts a rosbag2 bag folder and explains .db3 folders', async () => {
    const folder = path.join(dir, 'rosbag2_2026');
    mkdirSync(folder);
    await goalBag(path.join(folder, 'rosbag2_2026_0.mcap'), 2, 2);
    writeFileSync(path.join(folder, 'metadata.yaml'), 'rosbag2_bagfile_information: {}\n');
    assert.deepEqual((await replayGoals(folder)).goals, ['g0', 'g1']);
    const sqlite = path.join(dir, 'old_bag');
    mkdirSync(sqlite);
    writeFileSync(path.join(sqlite, 'old_bag_0.db3'), 'SQLite format 3\0');
    await assert.rejects((await McapTransport.create({ replay: sqlite })).replay(), /rosbag2 SQLite \(\.db3\) bag/);
  });

  it('names the topics a bag has when it has none of the subscribed ones', async () => {
    const file = path.join(dir, 'other.mcap');
    const bag = await BagWriter.open(file);
    await bag.write({ name: '/tf_static', type: 'std_msgs/msg/String', qos: 'latched' }, { data: 'x' }, 1n);
    await bag.close();
    await assert.rejects(replayGoals(file), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'transport_failed');
      assert.match(err.message, /has none of the subscribed topics \/emu\/goal \(std_msgs\/msg\/String\); it has \/tf_static \(std_msgs\/msg\/String, 1 messages\)/);
      return true;
    });
  });

  it('refuses to record onto the bag being replayed (also through a symlink), leaving it intact', async () => {
    const file = path.join(dir, 'in.mcap');
    await goalBag(file, 2, 2);
    const before = readFileSync(file);
    await assert.rejects(McapTransport.create({ replay: file, record: file }), /is the bag being replayed/);
    symlinkSync(file, path.join(dir, 'link.mcap'));
    await assert.rejects(McapTransport.create({ replay: path.join(dir, 'link.mcap'), record: path.join(dir, '.', 'in.mcap') }), /is the bag being replayed/);
    assert.deepEqual(readFileSync(file), before);
  });

  it('a publish before the replay clock is set does not block, and the recorded bag is finished whatever happens', async () => {
    const input = path.join(dir, 'junk.mcap');
    writeFileSync(input, 'not a bag at all');
    const output = path.join(dir, 'out.mcap');
    const t = await McapTransport.create({ replay: input, record: output });
    await t.publish(status, { data: 'starting' }); // resolves at once (used to wait for a clock that never came)
    await assert.rejects(t.replay(), /not an MCAP file/);
    await t.close();
    assert.equal(await assertValidMcap(output), 1);
    assert.deepEqual((await readBag(output)).messages.map((m) => (m.message as { data: string }).data), ['starting']);
  });

  it('writes chunks out on the time bound, so a crash loses at most that much', async () => {
    const file = path.join(dir, 'live.mcap');
    const bag = await BagWriter.open(file, { compression: 'zstd', flushIntervalMs: 20 });
    await bag.write(goal, { data: 'a' }, 1n);
    await bag.write(goal, { data: 'b' }, 2n);
    const header = statSync(file).size;
    await waitFor(() => statSync(file).size > header);
    // The file as a crash would leave it right now (no summary, no footer) still yields both messages.
    const crashed = path.join(dir, 'crashed.mcap');
    writeFileSync(crashed, readFileSync(file));
    const damage: BagDamage[] = [];
    const seen: string[] = [];
    for await (const r of scanBag(crashed, { onDamage: (d) => damage.push(d) })) if (r.type === 'message') seen.push(String(r.message.logTime));
    assert.deepEqual(seen, ['1', '2']);
    assert.deepEqual(damage, []);
    await bag.close();
    assert.equal(await assertValidMcap(file), 2);
  });

  it('BagWriter output passes the validating readers (CRCs, summary, indexes)', async () => {
    const file = path.join(dir, 'valid.mcap');
    await goalBag(file, 10, 4, 'zstd');
    assert.equal(await assertValidMcap(file), 10);
  });
});
