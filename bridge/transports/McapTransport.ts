import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { McapTypes } from '@mcap/core';
import { Observable, Subject } from 'rxjs';
import { TransportError } from '../../sdk/errors.ts';
import { CdrCodec } from '../messages/CdrCodec.ts';
import { isRosTypeName, type RosTypeName } from '../messages/rosSchemas.ts';
import { BagWriter } from './BagWriter.ts';
import type { ChunkCompression } from './mcapCompression.ts';
import { resolveBagFile, scanBag } from './scanBag.ts';
import type { TopicSpec, Transport, TransportProblem } from './Transport.ts';

export interface McapTransportOptions {
  /** Bag to replay as input: an MCAP file (indexed or not) or a rosbag2 bag folder holding one. */
  replay?: string;
  /** Bag every published message is recorded to. */
  record?: string;
  /** Chunk compression of the recorded bag. @default 'zstd' */
  compression?: ChunkCompression;
  /** Uncompressed chunk size before a chunk is written out. @default 1 MiB @unit bytes */
  chunkSize?: number;
  /** Longest a recorded message waits in memory before its chunk is written out. @default 1000 @unit ms */
  flushIntervalMs?: number;
}

export interface ReplayOptions {
  /** Awaited before each message is delivered: lets a slow consumer (the planner) keep up offline. */
  gate?: () => Promise<void>;
  /** Playback speed relative to log time; 0 = as fast as the gate allows. @default 0 */
  rate?: number;
  /** Stops the replay between messages; `replay()` then resolves with what was delivered. */
  signal?: AbortSignal;
}

export interface ReplayStats {
  /** Messages read from the bag. */
  read: number;
  /** Messages delivered to a subscriber. */
  delivered: number;
  /** Messages skipped (unsubscribed topic, unknown schema, undecodable). */
  skipped: number;
  /** Damaged regions of the bag that were skipped (each reported once as a problem). */
  damaged: number;
  /** True when the replay was stopped (signal, close) before the end of the bag. */
  stopped: boolean;
}

/**
 * A rosbag2-format MCAP transport: replays a bag as input (CDR decoded with the bag's own `ros2msg`
 * schemas) and records every published message to a bag (profile `ros2`, schema encoding `ros2msg`,
 * message encoding `cdr`, zstd or lz4 chunks), readable by `ros2 bag` and Foxglove. Output log
 * times follow the replay clock, so offline plans sit next to the frames they came from.
 *
 * Replay reads the bag in file order (the order rosbag2 wrote it, which is receive order) with a
 * lenient reader: unindexed and cut-off bags replay, damaged chunks are skipped and reported.
 * Publishing never waits for the replay: a message published before the replay clock is known is
 * encoded at once and stamped with the first replayed time (or the wall clock at close).
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
  readonly #stop = new AbortController();
  #bag: BagWriter | undefined;
  #held: { topic: TopicSpec; data: Uint8Array }[] = [];
  #clockNs: bigint | undefined;
  #closed = false;

  private constructor(options: McapTransportOptions) {
    this.#options = options;
  }

  static async create(options: McapTransportOptions): Promise<McapTransport> {
    const t = new McapTransport(options);
    if (options.record && options.replay) await refuseSameFile(options.replay, options.record);
    if (options.record) {
      const { compression, chunkSize, flushIntervalMs } = options;
      t.#bag = await BagWriter.open(options.record, { ...(compression ? { compression } : {}), ...(chunkSize ? { chunkSize } : {}), ...(flushIntervalMs ? { flushIntervalMs } : {}) }).catch((err) => {
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
    const bag = this.#bag;
    if (!bag) return Promise.resolve();
    let data: Uint8Array;
    try {
      data = bag.encode(topic, message);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#options.replay && this.#clockNs === undefined) {
      // Before the first replayed message the replay clock is unknown: keep the encoded message, stamp it later.
      this.#held.push({ topic, data });
      return Promise.resolve();
    }
    return bag.writeEncoded(topic, data, this.#now());
  }

  /** Streams the replay bag to subscribers in file order; resolves when the bag is exhausted or the replay stopped. */
  async replay(options: ReplayOptions = {}): Promise<ReplayStats> {
    if (!this.#options.replay) throw new TransportError('McapTransport.replay: no replay bag was given');
    const path = await resolveBagFile(this.#options.replay);
    const stats: ReplayStats = { read: 0, delivered: 0, skipped: 0, damaged: 0, stopped: false };
    const signal = options.signal ? AbortSignal.any([options.signal, this.#stop.signal]) : this.#stop.signal;
    const onDamage = (d: { code: TransportProblem['code']; reason: string }) => {
      stats.damaged += 1;
      this.#problems.next({ topic: path, code: d.code, reason: d.reason });
    };
    const channels = new Channels(this.#subjects, (p) => this.#problems.next(p));
    const rate = options.rate ?? 0;
    const wallStart = performance.now();
    let logStart: bigint | undefined;
    for await (const record of scanBag(path, { onDamage, signal })) {
      if (record.type === 'schema') channels.addSchema(record.schema);
      else if (record.type === 'channel') channels.addChannel(record.channel);
      else {
        stats.read += 1;
        const route = channels.route(record.message.channelId);
        if (!route) {
          stats.skipped += 1;
          continue;
        }
        if (options.gate) await untilAborted(options.gate(), signal);
        if (rate > 0) {
          logStart ??= record.message.logTime;
          const due = Number(record.message.logTime - logStart) / 1e6 / rate - (performance.now() - wallStart);
          if (due > 0) await new Promise((r) => setTimeout(r, due));
        }
        if (signal.aborted) break;
        this.#clockNs = record.message.logTime;
        this.#flushHeld();
        if (this.#deliver(route, record.message)) stats.delivered += 1;
        else stats.skipped += 1;
      }
    }
    stats.stopped = signal.aborted;
    if (!stats.stopped && channels.routedCount === 0) throw new TransportError(channels.describeMismatch(path));
    return stats;
  }

  /** Stops a replay in progress, completes the subscriptions and finishes the recorded bag (always, even after errors). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    for (const { subject } of this.#subjects.values()) subject.complete();
    this.#problems.complete();
    this.#clockNs ??= BigInt(Date.now()) * 1_000_000n;
    this.#flushHeld();
    await this.#bag?.close();
  }

  #deliver(route: Route, message: McapTypes.Message): boolean {
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
    // A failed write is kept by the writer and rethrown by close(): nothing is lost silently.
    for (const { topic, data } of held) this.#bag!.writeEncoded(topic, data, this.#clockNs!).catch(() => undefined);
  }

  #now(): bigint {
    return this.#clockNs ?? BigInt(Date.now()) * 1_000_000n;
  }
}

/**
 * The bag's schemas and channels as they are read, and which channels feed which subscription.
 * Every unusable channel is reported once; a channel defined twice (data and summary) counts once.
 */
class Channels {
  readonly #schemas = new Map<number, McapTypes.Schema>();
  readonly #channels = new Map<number, McapTypes.Channel>();
  readonly #routes = new Map<number, Route | undefined>();
  readonly #counts = new Map<number, number>();
  readonly #orphans = new Set<number>();

  constructor(
    private readonly subjects: ReadonlyMap<string, { spec: TopicSpec; subject: Subject<unknown> }>,
    private readonly report: (p: TransportProblem) => void,
  ) {}

  get routedCount(): number {
    return [...this.#routes.values()].filter(Boolean).length;
  }

  addSchema(schema: McapTypes.Schema): void {
    if (!this.#schemas.has(schema.id)) this.#schemas.set(schema.id, schema);
  }

  addChannel(channel: McapTypes.Channel): void {
    if (this.#channels.has(channel.id)) return;
    this.#channels.set(channel.id, channel);
    this.#routes.set(channel.id, this.#makeRoute(channel));
  }

  route(channelId: number): Route | undefined {
    this.#counts.set(channelId, (this.#counts.get(channelId) ?? 0) + 1);
    if (!this.#channels.has(channelId) && !this.#orphans.has(channelId)) {
      this.#orphans.add(channelId);
      this.report({ topic: `channel ${channelId}`, code: 'unknown_schema', reason: `messages on channel ${channelId}, whose definition is not in the readable part of the bag, are skipped` });
    }
    return this.#routes.get(channelId);
  }

  /** Why nothing in the bag could be replayed: the subscribed topics and the topics the bag has. */
  describeMismatch(path: string): string {
    const wanted = [...this.subjects.values()].map((s) => `${s.spec.name} (${s.spec.type})`).join(', ');
    const has = [...this.#channels.values()].map((c) => {
      const type = this.#schemas.get(c.schemaId)?.name ?? '?';
      return `${c.topic} (${type}, ${this.#counts.get(c.id) ?? 0} messages)`;
    });
    return has.length === 0
      ? `'${path}' holds no readable channels; the bridge subscribes to ${wanted}`
      : `'${path}' has none of the subscribed topics ${wanted}; it has ${has.join(', ')}. Point the bridge at them with --image-topic/--goal-topic (or topics: in the config)`;
  }

  #makeRoute(channel: McapTypes.Channel): Route | undefined {
    const schema = this.#schemas.get(channel.schemaId);
    const problem = channelProblem(channel, schema);
    if (problem) {
      this.report({ topic: channel.topic, code: 'unknown_schema', reason: problem });
      return undefined;
    }
    const sub = this.subjects.get(channel.topic);
    if (!sub) return undefined;
    const type = normaliseTypeName(schema!.name);
    if (type !== sub.spec.type) {
      this.report({ topic: channel.topic, code: 'unknown_schema', reason: `channel '${channel.topic}' carries ${schema!.name}, expected ${sub.spec.type}` });
      return undefined;
    }
    return { topic: channel.topic, type, definition: new TextDecoder().decode(schema!.data), subject: sub.subject };
  }
}

/** Recording onto the bag being replayed would truncate it before a single message is read. */
async function refuseSameFile(replay: string, record: string): Promise<void> {
  const input = await realpath(replay).catch(() => undefined);
  if (!input) return; // replay() reports a missing input
  const inputFile = await resolveBagFile(input).then((f) => realpath(f)).catch(() => input);
  const output = await realpath(record).catch(async () => join(await realpath(dirname(resolve(record))).catch(() => dirname(resolve(record))), basename(record)));
  if (output === input || output === inputFile) {
    throw new TransportError(`--record '${record}' is the bag being replayed ('${replay}'): recording would destroy the input; record to another file`);
  }
}

/** `promise`, or settled early (resolved) when `signal` fires: a stopped replay must not wait on the planner. */
function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
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

function channelProblem(channel: McapTypes.Channel, schema: McapTypes.Schema | undefined): string | undefined {
  if (!schema) return `channel '${channel.topic}' has no schema (id ${channel.schemaId})`;
  if (channel.messageEncoding !== 'cdr') return `channel '${channel.topic}' uses message encoding '${channel.messageEncoding}', expected 'cdr'`;
  if (schema.encoding !== 'ros2msg') return `channel '${channel.topic}' schema '${schema.name}' uses encoding '${schema.encoding}', expected 'ros2msg'`;
  if (!isRosTypeName(normaliseTypeName(schema.name))) return `channel '${channel.topic}' has unknown schema '${schema.name}'`;
  return undefined;
}

