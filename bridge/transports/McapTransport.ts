import { open, type FileHandle } from 'node:fs/promises';
import { McapIndexedReader, McapWriter, type McapTypes } from '@mcap/core';
import { FileHandleReadable, FileHandleWritable } from '@mcap/nodejs';
import { Observable, Subject } from 'rxjs';
import { TransportError } from '../../sdk/errors.ts';
import { CdrCodec } from '../messages/CdrCodec.ts';
import { completeDefinition, isRosTypeName, type RosTypeName } from '../messages/rosSchemas.ts';
import { type ChunkCompression, chunkCompressor, decompressHandlers } from './mcapCompression.ts';
import { qosYaml } from './qosProfiles.ts';
import type { QosName, TopicSpec, Transport, TransportProblem } from './Transport.ts';

export interface McapTransportOptions {
  /** Bag to replay as input (indexed MCAP, rosbag2 conventions). */
  replay?: string;
  /** Bag every published message is recorded to. */
  record?: string;
  /** Chunk compression of the recorded bag. @default 'zstd' */
  compression?: ChunkCompression;
  /** Uncompressed chunk size before a chunk is flushed. @default 4 MiB @unit bytes */
  chunkSize?: number;
}

export interface ReplayOptions {
  /** Awaited before each message is delivered: lets a slow consumer (the planner) keep up offline. */
  gate?: () => Promise<void>;
  /** Playback speed relative to log time; 0 = as fast as the gate allows. @default 0 */
  rate?: number;
}

export interface ReplayStats {
  /** Messages read from the bag. */
  read: number;
  /** Messages delivered to a subscriber. */
  delivered: number;
  /** Messages skipped (unsubscribed topic, unknown schema, undecodable). */
  skipped: number;
}

/**
 * A rosbag2-format MCAP transport: replays a bag as input (CDR decoded with the bag's own `ros2msg`
 * schemas) and records every published message to a bag (profile `ros2`, schema encoding `ros2msg`,
 * message encoding `cdr`, zstd or lz4 chunks), readable by `ros2 bag` and Foxglove. Output log
 * times follow the replay clock, so offline plans sit next to the frames they came from.
 *
 * @example
 * const t = await McapTransport.create({ replay: 'in.mcap', record: 'out.mcap' });
 * pipeline.start(); await t.replay({ gate: () => pipeline.whenIdle() }); await t.close();
 */
export class McapTransport implements Transport {
  readonly kind = 'mcap' as const;
  readonly #options: McapTransportOptions;
  readonly #codec = new CdrCodec();
  readonly #subjects = new Map<string, { spec: TopicSpec; subject: Subject<unknown> }>();
  readonly #problems = new Subject<TransportProblem>();
  #writer: McapWriter | undefined;
  #writeHandle: FileHandle | undefined;
  #writeQueue: Promise<void> = Promise.resolve();
  readonly #channels = new Map<string, Promise<number>>();
  readonly #schemas = new Map<RosTypeName, Promise<number>>();
  #clockNs: bigint | undefined;
  #closed = false;

  private constructor(options: McapTransportOptions) {
    this.#options = options;
  }

  static async create(options: McapTransportOptions): Promise<McapTransport> {
    const t = new McapTransport(options);
    if (options.record) await t.#openWriter(options.record);
    return t;
  }

  get problems(): Observable<TransportProblem> {
    return this.#problems.asObservable();
  }

  subscribe(topic: TopicSpec): Observable<unknown> {
    let entry = this.#subjects.get(topic.name);
    if (!entry) {
      entry = { spec: topic, subject: new Subject<unknown>() };
      this.#subjects.set(topic.name, entry);
    }
    return entry.subject.asObservable();
  }

  publish(topic: TopicSpec, message: object): Promise<void> {
    if (!this.#writer) return Promise.resolve();
    if (this.#closed) return Promise.reject(new TransportError(`publish on '${topic.name}' after close`));
    const data = this.#codec.encode(topic.type, message);
    const time = this.#now();
    // McapWriter calls must not overlap; chain them.
    const next = this.#writeQueue.then(async () => {
      const channelId = await this.#channel(topic);
      await this.#writer!.addMessage({ channelId, sequence: 0, logTime: time, publishTime: time, data });
    });
    this.#writeQueue = next.catch(() => undefined);
    return next;
  }

  /** Streams the replay bag to subscribers in log-time order; resolves when the bag is exhausted. */
  async replay(options: ReplayOptions = {}): Promise<ReplayStats> {
    if (!this.#options.replay) throw new TransportError('McapTransport.replay: no replay bag was given');
    const handle = await open(this.#options.replay, 'r').catch((err) => {
      throw new TransportError(`cannot open bag '${this.#options.replay}': ${(err as Error).message}`, { cause: err });
    });
    const stats: ReplayStats = { read: 0, delivered: 0, skipped: 0 };
    try {
      const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle), decompressHandlers }).catch((err) => {
        throw new TransportError(`'${this.#options.replay}' is not a readable indexed MCAP file: ${(err as Error).message}`, { cause: err });
      });
      const routes = this.#routes(reader);
      const rate = options.rate ?? 0;
      const wallStart = performance.now();
      let logStart: bigint | undefined;
      for await (const message of reader.readMessages()) {
        stats.read += 1;
        const route = routes.get(message.channelId);
        if (!route) {
          stats.skipped += 1;
          continue;
        }
        if (options.gate) await options.gate();
        if (rate > 0) {
          logStart ??= message.logTime;
          const due = Number(message.logTime - logStart) / 1e6 / rate - (performance.now() - wallStart);
          if (due > 0) await new Promise((r) => setTimeout(r, due));
        }
        this.#clockNs = message.logTime;
        if (this.#deliver(route, message)) stats.delivered += 1;
        else stats.skipped += 1;
      }
    } finally {
      await handle.close();
    }
    return stats;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const { subject } of this.#subjects.values()) subject.complete();
    this.#problems.complete();
    if (this.#writer) {
      await this.#writeQueue;
      await this.#writer.end();
      await this.#writeHandle!.close();
    }
  }

  async #openWriter(path: string): Promise<void> {
    this.#writeHandle = await open(path, 'w');
    const compressChunk = await chunkCompressor(this.#options.compression ?? 'zstd');
    this.#writer = new McapWriter({
      writable: new FileHandleWritable(this.#writeHandle),
      chunkSize: this.#options.chunkSize ?? 4 * 1024 * 1024,
      ...(compressChunk ? { compressChunk } : {}),
    });
    await this.#writer.start({ profile: 'ros2', library: 'emu-robotics' });
  }

  #channel(topic: TopicSpec): Promise<number> {
    let id = this.#channels.get(topic.name);
    if (!id) {
      id = this.#schema(topic.type).then((schemaId) =>
        this.#writer!.registerChannel({
          schemaId,
          topic: topic.name,
          messageEncoding: 'cdr',
          metadata: new Map([['offered_qos_profiles', qosYaml(topic.qos)]]),
        }),
      );
      this.#channels.set(topic.name, id);
    }
    return id;
  }

  #schema(type: RosTypeName): Promise<number> {
    let id = this.#schemas.get(type);
    if (!id) {
      id = this.#writer!.registerSchema({ name: type, encoding: 'ros2msg', data: new TextEncoder().encode(completeDefinition(type)) });
      this.#schemas.set(type, id);
    }
    return id;
  }

  /** Which channels feed which subscription; every unusable channel is reported once, here. */
  #routes(reader: McapIndexedReader): Map<number, Route> {
    const routes = new Map<number, Route>();
    for (const channel of reader.channelsById.values()) {
      const schema = reader.schemasById.get(channel.schemaId);
      const problem = channelProblem(channel, schema);
      if (problem) {
        this.#problems.next({ topic: channel.topic, code: 'unknown_schema', reason: problem });
        continue;
      }
      const sub = this.#subjects.get(channel.topic);
      if (!sub) continue;
      const type = normaliseTypeName(schema!.name);
      if (type !== sub.spec.type) {
        this.#problems.next({ topic: channel.topic, code: 'unknown_schema', reason: `channel '${channel.topic}' carries ${schema!.name}, expected ${sub.spec.type}` });
        continue;
      }
      routes.set(channel.id, { topic: channel.topic, type, definition: new TextDecoder().decode(schema!.data), subject: sub.subject, failed: false });
    }
    return routes;
  }

  #deliver(route: Route, message: McapTypes.TypedMcapRecords['Message']): boolean {
    let decoded: unknown;
    try {
      decoded = this.#codec.decode(route.type, message.data, route.definition);
    } catch (err) {
      this.#problems.next({ topic: route.topic, code: 'undecodable', reason: (err as Error).message });
      return false;
    }
    route.subject.next(decoded);
    return true;
  }

  #now(): bigint {
    return this.#clockNs ?? BigInt(Date.now()) * 1_000_000n;
  }
}

interface Route {
  topic: string;
  type: RosTypeName;
  definition: string;
  subject: Subject<unknown>;
  failed: boolean;
}

/** `sensor_msgs/Image` and `sensor_msgs/msg/Image` name the same type. */
function normaliseTypeName(name: string): string {
  const parts = name.split('/');
  return parts.length === 2 ? `${parts[0]}/msg/${parts[1]}` : name;
}

function channelProblem(channel: McapTypes.TypedMcapRecords['Channel'], schema: McapTypes.TypedMcapRecords['Schema'] | undefined): string | undefined {
  if (!schema) return `channel '${channel.topic}' has no schema (id ${channel.schemaId})`;
  if (channel.messageEncoding !== 'cdr') return `channel '${channel.topic}' uses message encoding '${channel.messageEncoding}', expected 'cdr'`;
  if (schema.encoding !== 'ros2msg') return `channel '${channel.topic}' schema '${schema.name}' uses encoding '${schema.encoding}', expected 'ros2msg'`;
  if (!isRosTypeName(normaliseTypeName(schema.name))) return `channel '${channel.topic}' has unknown schema '${schema.name}'`;
  return undefined;
}

export type { QosName };
