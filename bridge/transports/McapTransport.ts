import { open } from 'node:fs/promises';
import { McapIndexedReader, type McapTypes } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import { Observable, Subject } from 'rxjs';
import { TransportError } from '../../sdk/errors.ts';
import { CdrCodec } from '../messages/CdrCodec.ts';
import { isRosTypeName, type RosTypeName } from '../messages/rosSchemas.ts';
import { BagWriter } from './BagWriter.ts';
import { type ChunkCompression, decompressHandlers } from './mcapCompression.ts';
import type { TopicSpec, Transport, TransportProblem } from './Transport.ts';

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
  #bag: BagWriter | undefined;
  #held: (() => Promise<void>)[] = [];
  #clockNs: bigint | undefined;
  #closed = false;

  private constructor(options: McapTransportOptions) {
    this.#options = options;
  }

  static async create(options: McapTransportOptions): Promise<McapTransport> {
    const t = new McapTransport(options);
    if (options.record) {
      const bagOptions = { ...(options.compression ? { compression: options.compression } : {}), ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}) };
      t.#bag = await BagWriter.open(options.record, bagOptions).catch((err) => {
        throw new TransportError(`cannot create bag '${options.record}': ${(err as Error).message}`, { cause: err });
      });
    }
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
    if (this.#closed) return Promise.reject(new TransportError(`publish on '${topic.name}' after close`));
    if (!this.#bag) return Promise.resolve();
    if (this.#options.replay && this.#clockNs === undefined) {
      // Before the first replayed message the replay clock is unknown: hold the output until it is.
      return new Promise((resolve, reject) => this.#held.push(() => this.#bag!.write(topic, message, this.#now()).then(resolve, reject)));
    }
    return this.#bag.write(topic, message, this.#now());
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
        this.#flushHeld();
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
    this.#clockNs ??= BigInt(Date.now()) * 1_000_000n;
    this.#flushHeld();
    await this.#bag?.close();
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
      routes.set(channel.id, { topic: channel.topic, type, definition: new TextDecoder().decode(schema!.data), subject: sub.subject });
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

  #flushHeld(): void {
    const held = this.#held;
    this.#held = [];
    for (const write of held) void write();
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

