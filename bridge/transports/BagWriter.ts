import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { McapChunkBuilder, McapConstants, McapRecordBuilder, type McapTypes } from '@mcap/core';
import { CdrCodec } from '../messages/CdrCodec.ts';
import { completeDefinition, type RosTypeName } from '../messages/rosSchemas.ts';
import { type ChunkCompression, type Compressor, chunkCompressor } from './mcapCompression.ts';
import { qosYaml } from './qosProfiles.ts';
import type { TopicSpec } from './Transport.ts';

export interface BagWriterOptions {
  /** @default 'zstd' */
  compression?: ChunkCompression;
  /** Uncompressed bytes after which the open chunk is written out. @default 1 MiB @unit bytes */
  chunkSize?: number;
  /** Longest a message waits in memory before its chunk is written out. @default 1000 @unit ms */
  flushIntervalMs?: number;
}

const { Opcode } = McapConstants;

/**
 * Writes a rosbag2-style MCAP: profile `ros2`, one `ros2msg` schema per type, `cdr` channels with
 * `offered_qos_profiles` metadata, compressed chunks with message indexes, and on `close()` the
 * summary (schemas, channels, statistics, chunk indexes, summary offsets) and footer.
 *
 * Chunks are written out on a bound of bytes *and* of time, so a crash loses at most
 * `flushIntervalMs` (or `chunkSize`) of recording, and what is on disk is always a readable prefix
 * (every chunk carries the schemas and channels its messages need for the first time).
 * Our own writer rather than `McapWriter` because the latter can flush a chunk only by size.
 *
 * @example
 * const bag = await BagWriter.open('out.mcap', { compression: 'lz4' });
 * await bag.write({ name: '/goal', type: 'std_msgs/msg/String', qos: 'reliable' }, { data: 'stack' }, 1_000_000_000n);
 * await bag.close();
 */
export class BagWriter {
  readonly #handle: FileHandle;
  readonly #compress: Compressor | undefined;
  readonly #options: Required<Omit<BagWriterOptions, 'compression'>>;
  readonly #codec = new CdrCodec();
  readonly #records = new McapRecordBuilder();
  readonly #chunk = new McapChunkBuilder({ useMessageIndex: true });
  readonly #schemas = new Map<RosTypeName, McapTypes.Schema>();
  readonly #channels = new Map<string, McapTypes.Channel>();
  readonly #chunkIndexes: McapTypes.ChunkIndex[] = [];
  readonly #stats: McapTypes.Statistics = {
    messageCount: 0n, schemaCount: 0, channelCount: 0, attachmentCount: 0, metadataCount: 0, chunkCount: 0,
    messageStartTime: 0n, messageEndTime: 0n, channelMessageCounts: new Map(),
  };
  #position = 0n;
  #dataCrc = 0;
  #queue: Promise<void> = Promise.resolve();
  #failure: unknown;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(handle: FileHandle, compress: Compressor | undefined, options: BagWriterOptions) {
    this.#handle = handle;
    this.#compress = compress;
    this.#options = { chunkSize: options.chunkSize ?? 1024 * 1024, flushIntervalMs: options.flushIntervalMs ?? 1000 };
  }

  static async open(path: string, options: BagWriterOptions = {}): Promise<BagWriter> {
    const compress = await chunkCompressor(options.compression ?? 'zstd');
    const handle = await open(path, 'w');
    const bag = new BagWriter(handle, compress, options);
    bag.#records.writeMagic();
    bag.#records.writeHeader({ profile: 'ros2', library: 'emu-robotics' });
    await bag.#enqueue(() => bag.#writeOut(true));
    return bag;
  }

  get messageCount(): number {
    return Number(this.#stats.messageCount);
  }

  /** CDR-encodes `message` now (a later change to the object is not recorded). */
  encode(topic: TopicSpec, message: object): Uint8Array {
    return this.#codec.encode(topic.type, message);
  }

  /** CDR-encodes `message` now and appends it with log and publish time `timeNs`. */
  write(topic: TopicSpec, message: object, timeNs: bigint): Promise<void> {
    return this.writeEncoded(topic, this.encode(topic, message), timeNs);
  }

  /** Appends an already encoded message. Resolves once it is in the open chunk (or written out, if that filled it). */
  writeEncoded(topic: TopicSpec, data: Uint8Array, timeNs: bigint): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`bag is closed: cannot write '${topic.name}'`));
    return this.#enqueue(async () => {
      const channelId = this.#channel(topic);
      const count = this.#stats.messageCount;
      this.#chunk.addMessage({ channelId, sequence: Number(count % 0xffff_ffffn), logTime: timeNs, publishTime: timeNs, data });
      this.#countMessage(channelId, timeNs);
      if (this.#chunk.byteLength >= this.#options.chunkSize) await this.#flushChunk();
      else this.#armTimer();
    });
  }

  /** Writes out the open chunk now. */
  flush(): Promise<void> {
    return this.#enqueue(() => this.#flushChunk());
  }

  /**
   * Writes the last chunk, data end, summary and footer, and closes the file. Always finishes the
   * file, even after a failed write (which it then rethrows): a bag is never left unterminated by us.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    try {
      await this.#enqueue(async () => {
        await this.#flushChunk();
        await this.#writeSummary();
        await this.#handle.sync();
      });
    } finally {
      await this.#handle.close();
    }
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Serialises every file operation; a failure is kept for `close()` and does not stop later writes. */
  #enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(op);
    this.#queue = next.catch((err) => {
      this.#failure ??= err;
    });
    return next;
  }

  #armTimer(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush().catch(() => undefined);
    }, this.#options.flushIntervalMs);
    this.#timer.unref();
  }

  #channel(topic: TopicSpec): number {
    let channel = this.#channels.get(topic.name);
    if (channel) return channel.id;
    let schema = this.#schemas.get(topic.type);
    if (!schema) {
      schema = { id: this.#schemas.size + 1, name: topic.type, encoding: 'ros2msg', data: new TextEncoder().encode(completeDefinition(topic.type)) };
      this.#schemas.set(topic.type, schema);
      this.#chunk.addSchema(schema);
      this.#stats.schemaCount += 1;
    }
    const metadata = new Map([['offered_qos_profiles', qosYaml(topic.qos)]]);
    channel = { id: this.#channels.size, schemaId: schema.id, topic: topic.name, messageEncoding: 'cdr', metadata };
    this.#channels.set(topic.name, channel);
    this.#chunk.addChannel(channel);
    this.#stats.channelCount += 1;
    return channel.id;
  }

  #countMessage(channelId: number, timeNs: bigint): void {
    const s = this.#stats;
    if (s.messageCount === 0n || timeNs < s.messageStartTime) s.messageStartTime = timeNs;
    if (s.messageCount === 0n || timeNs > s.messageEndTime) s.messageEndTime = timeNs;
    s.messageCount += 1n;
    s.channelMessageCounts.set(channelId, (s.channelMessageCounts.get(channelId) ?? 0n) + 1n);
  }

  /** The open chunk → a chunk record and its message indexes on disk. */
  async #flushChunk(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#chunk.numMessages === 0) return;
    const raw = this.#chunk.buffer;
    const { compression, compressedData } = this.#compress ? this.#compress(raw) : { compression: '', compressedData: raw };
    const chunkStartOffset = this.#position;
    const chunkLength = this.#records.writeChunk({
      messageStartTime: this.#chunk.messageStartTime,
      messageEndTime: this.#chunk.messageEndTime,
      uncompressedSize: BigInt(raw.byteLength),
      uncompressedCrc: crc32(raw),
      compression,
      records: compressedData,
    });
    const messageIndexOffsets = new Map<number, bigint>();
    let messageIndexLength = 0n;
    for (const index of this.#chunk.indices) {
      messageIndexOffsets.set(index.channelId, chunkStartOffset + chunkLength + messageIndexLength);
      messageIndexLength += this.#records.writeMessageIndex(index);
    }
    this.#chunkIndexes.push({
      messageStartTime: this.#chunk.messageStartTime,
      messageEndTime: this.#chunk.messageEndTime,
      chunkStartOffset, chunkLength, messageIndexOffsets, messageIndexLength, compression,
      compressedSize: BigInt(compressedData.byteLength),
      uncompressedSize: BigInt(raw.byteLength),
    });
    this.#stats.chunkCount += 1;
    this.#chunk.reset();
    await this.#writeOut(true);
  }

  async #writeSummary(): Promise<void> {
    this.#records.writeDataEnd({ dataSectionCrc: this.#dataCrc });
    await this.#writeOut(false);
    const summaryStart = this.#position;
    const offsets: McapTypes.SummaryOffset[] = [];
    const group = (opcode: number, write: () => bigint) => {
      const groupStart = summaryStart + BigInt(this.#records.length);
      const groupLength = write();
      if (groupLength > 0n) offsets.push({ groupOpcode: opcode, groupStart, groupLength });
    };
    group(Opcode.SCHEMA, () => [...this.#schemas.values()].reduce((n, s) => n + this.#records.writeSchema(s), 0n));
    group(Opcode.CHANNEL, () => [...this.#channels.values()].reduce((n, c) => n + this.#records.writeChannel(c), 0n));
    group(Opcode.STATISTICS, () => this.#records.writeStatistics(this.#stats));
    group(Opcode.CHUNK_INDEX, () => this.#chunkIndexes.reduce((n, c) => n + this.#records.writeChunkIndex(c), 0n));
    const summaryOffsetStart = summaryStart + BigInt(this.#records.length);
    for (const o of offsets) this.#records.writeSummaryOffset(o);
    // The footer's CRC covers the summary up to and including the footer's own first fields.
    const footerHead = new DataView(new ArrayBuffer(25));
    footerHead.setUint8(0, Opcode.FOOTER);
    footerHead.setBigUint64(1, 20n, true);
    footerHead.setBigUint64(9, summaryStart, true);
    footerHead.setBigUint64(17, summaryOffsetStart, true);
    const summaryCrc = crc32(new Uint8Array(footerHead.buffer), crc32(this.#records.buffer));
    this.#records.writeFooter({ summaryStart, summaryOffsetStart, summaryCrc });
    this.#records.writeMagic();
    await this.#writeOut(false);
  }

  /** Appends the record builder's buffer to the file (and to the data-section CRC while in it). */
  async #writeOut(dataSection: boolean): Promise<void> {
    const buffer = this.#records.buffer;
    if (dataSection) this.#dataCrc = crc32(buffer, this.#dataCrc);
    await this.#handle.write(buffer, 0, buffer.byteLength, Number(this.#position));
    this.#position += BigInt(buffer.byteLength);
    this.#records.reset();
  }
}
