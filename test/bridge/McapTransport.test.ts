import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { McapWriter } from '@mcap/core';
import { FileHandleWritable } from '@mcap/nodejs';
import { open } from 'node:fs/promises';
import { completeDefinition } from '../../bridge/messages/rosSchemas.ts';
import { BagWriter } from '../../bridge/transports/BagWriter.ts';
import { McapTransport } from '../../bridge/transports/McapTransport.ts';
import { readBag } from '../../bridge/transports/readBag.ts';
import type { TopicSpec, TransportProblem } from '../../bridge/transports/Transport.ts';

const image: TopicSpec = { name: '/camera/image_raw', type: 'sensor_msgs/msg/Image', qos: 'sensor_data' };
const goal: TopicSpec = { name: '/emu/goal', type: 'std_msgs/msg/String', qos: 'reliable' };

function imageMsg(i: number) {
  const data = new Uint8Array(4 * 3 * 3).fill(i);
  return { header: { stamp: { sec: 100 + i, nanosec: 5 }, frame_id: 'cam' }, height: 3, width: 4, encoding: 'rgb8', is_bigendian: 0, step: 12, data };
}

describe('McapTransport / BagWriter', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'emu-mcap-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const compression of ['zstd', 'lz4', 'none'] as const) {
    it(`writes a rosbag2-style bag with ${compression} chunks that reads back`, async () => {
      const file = path.join(dir, `${compression}.mcap`);
      const bag = await BagWriter.open(file, { compression, chunkSize: 64 });
      for (let i = 0; i < 5; i++) await bag.write(image, imageMsg(i), BigInt(i) * 100_000_000n);
      await bag.write(goal, { data: 'stack' }, 250_000_000n);
      await bag.close();
      const back = await readBag(file);
      assert.equal(back.profile, 'ros2');
      assert.ok(back.chunkCompression.length > 1);
      assert.ok(back.chunkCompression.every((c) => c === (compression === 'none' ? '' : compression)));
      const imgSchema = back.schemas.find((s) => s.name === 'sensor_msgs/msg/Image')!;
      assert.equal(imgSchema.encoding, 'ros2msg');
      assert.match(imgSchema.text, /^std_msgs\/Header header\n[\s\S]*\nMSG: std_msgs\/Header\nbuiltin_interfaces\/Time stamp\n[\s\S]*MSG: builtin_interfaces\/Time\nint32 sec\nuint32 nanosec$/);
      assert.ok(back.channels.every((c) => c.messageEncoding === 'cdr'));
      assert.match(back.channels.find((c) => c.topic === image.name)!.metadata.offered_qos_profiles!, /reliability: 2/);
      const imgs = back.messages.filter((m) => m.topic === image.name).map((m) => m.message as ReturnType<typeof imageMsg>);
      assert.deepEqual(imgs.map((m) => m.header.stamp.sec), [100, 101, 102, 103, 104]);
      assert.equal(imgs[3]!.data[7], 3);
      assert.deepEqual(back.messages.map((m) => m.topic).indexOf(goal.name), 3, 'log-time order');
    });
  }

  it('replays to subscribers in log-time order, gated, and records outputs on the replay clock', async () => {
    const input = path.join(dir, 'in.mcap');
    const bag = await BagWriter.open(input);
    for (let i = 0; i < 3; i++) await bag.write(image, imageMsg(i), BigInt(i + 1) * 1_000_000_000n);
    await bag.write(goal, { data: 'go' }, 1_500_000_000n);
    await bag.close();

    const output = path.join(dir, 'out.mcap');
    const t = await McapTransport.create({ replay: input, record: output, compression: 'lz4' });
    const seen: string[] = [];
    t.subscribe(image).subscribe((m: any) => seen.push(`img${m.header.stamp.sec}`));
    t.subscribe(goal).subscribe((m: any) => {
      seen.push(`goal:${m.data}`);
      void t.publish({ name: '/emu/status', type: 'std_msgs/msg/String', qos: 'latched' }, { data: 'ack' });
    });
    let gates = 0;
    const stats = await t.replay({ gate: async () => void gates++ });
    await t.close();
    assert.deepEqual(seen, ['img100', 'goal:go', 'img101', 'img102']);
    assert.deepEqual(stats, { read: 4, delivered: 4, skipped: 0, damaged: 0, stopped: false });
    assert.equal(gates, 4);
    const out = await readBag(output);
    assert.equal(out.messages.length, 1);
    assert.equal(out.messages[0]!.logTimeNs, 1_500_000_000n, 'output stamped with the replay clock');
    assert.match(out.channels[0]!.metadata.offered_qos_profiles!, /durability: 1/);
  });

  it('reports channels with unknown schemas or encodings once and keeps the good ones', async () => {
    const input = path.join(dir, 'mixed.mcap');
    const handle = await open(input, 'w');
    const w = new McapWriter({ writable: new FileHandleWritable(handle) });
    await w.start({ profile: 'ros2', library: 'test' });
    const enc = new TextEncoder();
    const bogus = await w.registerSchema({ name: 'my_pkg/msg/Weird', encoding: 'ros2msg', data: enc.encode('int32 x') });
    const json = await w.registerSchema({ name: 'sensor_msgs/msg/Image', encoding: 'jsonschema', data: enc.encode('{}') });
    const good = await w.registerSchema({ name: 'std_msgs/msg/String', encoding: 'ros2msg', data: enc.encode(completeDefinition('std_msgs/msg/String')) });
    const c1 = await w.registerChannel({ schemaId: bogus, topic: '/weird', messageEncoding: 'cdr', metadata: new Map() });
    const c2 = await w.registerChannel({ schemaId: json, topic: image.name, messageEncoding: 'json', metadata: new Map() });
    const c3 = await w.registerChannel({ schemaId: good, topic: goal.name, messageEncoding: 'cdr', metadata: new Map() });
    const goodBytes = new Uint8Array([0, 1, 0, 0, 3, 0, 0, 0, 0x68, 0x69, 0]);
    for (let i = 0; i < 3; i++) {
      await w.addMessage({ channelId: c1, sequence: i, logTime: BigInt(i), publishTime: 0n, data: new Uint8Array([1, 2, 3]) });
      await w.addMessage({ channelId: c2, sequence: i, logTime: BigInt(i), publishTime: 0n, data: enc.encode('{}') });
      await w.addMessage({ channelId: c3, sequence: i, logTime: BigInt(i), publishTime: 0n, data: i === 1 ? new Uint8Array([0, 1, 0, 0, 200, 0, 0, 0]) : goodBytes });
    }
    await w.end();
    await handle.close();

    const t = await McapTransport.create({ replay: input });
    const problems: TransportProblem[] = [];
    t.problems.subscribe((p) => problems.push(p));
    const goals: string[] = [];
    t.subscribe(image).subscribe(() => assert.fail('no image expected'));
    t.subscribe(goal).subscribe((m: any) => goals.push(m.data));
    const stats = await t.replay();
    await t.close();
    assert.deepEqual(goals, ['hi', 'hi']);
    assert.equal(stats.read, 9);
    assert.equal(problems.filter((p) => p.code === 'unknown_schema').length, 2, 'each bad channel reported once');
    assert.match(problems.find((p) => p.topic === '/weird')!.reason, /unknown schema 'my_pkg\/msg\/Weird'/);
    assert.match(problems.find((p) => p.topic === image.name)!.reason, /message encoding 'json'/);
    assert.equal(problems.filter((p) => p.code === 'undecodable').length, 1);
  });

  it('fails clearly on a missing or non-MCAP replay file', async () => {
    const t = await McapTransport.create({ replay: path.join(dir, 'nope.mcap') });
    await assert.rejects(t.replay(), /cannot open bag/);
    const junk = path.join(dir, 'junk.mcap');
    await (await open(junk, "w")).close();
    const t2 = await McapTransport.create({ replay: junk });
    await assert.rejects(t2.replay(), /is empty/);
    const text = path.join(dir, 'notes.mcap');
    writeFileSync(text, 'hello, this is not a bag');
    await assert.rejects((await McapTransport.create({ replay: text })).replay(), /not an MCAP file \(it starts with 68 65 6c 6c/);
    const db3 = path.join(dir, 'rosbag2.db3');
    writeFileSync(db3, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(100)]));
    await assert.rejects((await McapTransport.create({ replay: db3 })).replay(), /rosbag2 SQLite \(\.db3\) bag; convert it to MCAP/);
  });
});
