import { open, type FileHandle } from 'node:fs/promises';
import { McapWriter } from '@mcap/core';
import { FileHandleWritable } from '@mcap/nodejs';
import { CdrCodec } from '../messages/CdrCodec.ts';
import { completeDefinition, type RosTypeName } from '../messages/rosSchemas.ts';
import { type ChunkCompression, chunkCompressor } from './mcapCompression.ts';
import { qosYaml } from './qosProfiles.ts';
import type { TopicSpec } from './Transport.ts';

export interface BagWriterOptions {
  /** @default 'zstd' */
  compression?: ChunkCompression;
  /** @default 4 MiB @unit bytes */
  chunkSize?: number;
}

/**
 * Writes a rosbag2-style MCAP: profile `ros2`, one `ros2msg` schema per type, `cdr` channels with
 * `offered_qos_profiles` metadata. Calls are serialised internally, so `write` may be called freely.
 *
 * @example
 * const bag = await BagWriter.open('out.mcap', { compression: 'lz4' });
 * await bag.write({ name: '/goal', type: 'std_msgs/msg/String', qos: 'reliable' }, { data: 'stack' }, 1_000_000_000n);
 * await bag.close();
 */
export class BagWriter {
  readonly #writer: McapWriter;
  readonly #handle: FileHandle;
  readonly #codec = new CdrCodec();
  readonly #channels = new Map<string, Promise<number>>();
  readonly #schemas = new Map<RosTypeName, Promise<number>>();
  #queue: Promise<void> = Promise.resolve();
  #count = 0;

  private constructor(writer: McapWriter, handle: FileHandle) {
    this.#writer = writer;
    this.#handle = handle;
  }

  static async open(path: string, options: BagWriterOptions = {}): Promise<BagWriter> {
    const handle = await open(path, 'w');
    const compressChunk = await chunkCompressor(options.compression ?? 'zstd');
    const writer = new McapWriter({
      writable: new FileHandleWritable(handle),
      chunkSize: options.chunkSize ?? 4 * 1024 * 1024,
      ...(compressChunk ? { compressChunk } : {}),
    });
    await writer.start({ profile: 'ros2', library: 'emu-robotics' });
    return new BagWriter(writer, handle);
  }

  get messageCount(): number {
    return this.#count;
  }

  /** CDR-encodes `message` now and appends it with log and publish time `timeNs`. */
  write(topic: TopicSpec, message: object, timeNs: bigint): Promise<void> {
    const data = this.#codec.encode(topic.type, message);
    const next = this.#queue.then(async () => {
      const channelId = await this.#channel(topic);
      await this.#writer.addMessage({ channelId, sequence: this.#count++, logTime: timeNs, publishTime: timeNs, data });
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#writer.end();
    await this.#handle.close();
  }

  #channel(topic: TopicSpec): Promise<number> {
    let id = this.#channels.get(topic.name);
    if (!id) {
      id = this.#schema(topic.type).then((schemaId) =>
        this.#writer.registerChannel({ schemaId, topic: topic.name, messageEncoding: 'cdr', metadata: new Map([['offered_qos_profiles', qosYaml(topic.qos)]]) }),
      );
      this.#channels.set(topic.name, id);
    }
    return id;
  }

  #schema(type: RosTypeName): Promise<number> {
    let id = this.#schemas.get(type);
    if (!id) {
      id = this.#writer.registerSchema({ name: type, encoding: 'ros2msg', data: new TextEncoder().encode(completeDefinition(type)) });
      this.#schemas.set(type, id);
    }
    return id;
  }
}
