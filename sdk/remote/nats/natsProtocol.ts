import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import { z } from 'zod';
import { ConfigError, TransportError } from '../../errors.ts';
import { decodeFrame, ServerFrameSchema, type ServerFrame } from '../protocol.ts';

/**
 * The remote protocol over NATS: the same msgpack frames as over WebSocket (protocol.ts), carried
 * as NATS messages, plus a few frames only NATS needs (a worker accepting or declining a request,
 * heartbeats, parts of a frame over the server's max_payload).
 *
 * Subjects, for a cluster name `<name>` (default `default`, or the path of `nats://host:port/<name>`):
 *
 *   emu.<name>.request     request offers; workers subscribe in the queue group `emu-workers`, and only
 *                          while they have a free slot (so NATS routes work to idle workers only)
 *   emu.<name>.hello       discovery: every worker answers with its handshake + load
 *   emu.<name>.free        a worker announces a freed slot (clients place the requests they hold)
 *   emu.<name>.c.<key>     per request attempt, client → worker: cancel, and the request body's parts
 *   <reply inbox>.<key>    per request attempt, worker → client: accepted | busy, queued, event, error,
 *                          hb (heartbeat) and part frames, in order
 *
 * A request attempt: the client publishes `request` (with reply subject) on emu.<name>.request; a worker
 * with a free slot answers `accepted` (its id and heartbeat period), one at capacity answers `busy`;
 * NATS answers a 503 status itself when no worker is subscribed (all busy, or none). Once accepted,
 * the worker sends `hb` every heartbeatMs while the request is open, and ends with one `done` event
 * or one `error` frame. Every attempt has its own key, so frames of an abandoned attempt (a worker
 * declared dead, a cancel) are never taken for those of the next.
 */
export const QUEUE_GROUP = 'emu-workers';
export const DEFAULT_CLUSTER = 'default';
/** What the client and worker add to a frame when they split it into parts. @unit bytes */
const PART_OVERHEAD = 1024;

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** The same msgpack as protocol.ts's encodeFrame, for the frames only NATS has. */
export function encodeNatsFrame(frame: NatsWorkerFrame | NatsControlFrame | NatsRequestFrame | FreeFrame | ServerFrame | WorkerHello): Uint8Array {
  return packr.pack(frame);
}

export function encodeBody(value: unknown): Uint8Array {
  return packr.pack(value);
}

export interface NatsSubjects {
  name: string;
  request: string;
  hello: string;
  free: string;
  control(key: string): string;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function natsSubjects(name: string = DEFAULT_CLUSTER): NatsSubjects {
  if (!NAME.test(name)) throw new ConfigError(`the NATS cluster name '${name}' must be 1-64 of A-Z a-z 0-9 _ - (it becomes a subject token: emu.<name>.request)`);
  return { name, request: `emu.${name}.request`, hello: `emu.${name}.hello`, free: `emu.${name}.free`, control: (key) => `emu.${name}.c.${key}` };
}

/**
 * `nats://host:port[,nats://host2:port][/name]` → the servers and the cluster name (the path).
 * `tls://` servers are passed through as given.
 */
export function parseNatsUrl(url: string): { servers: string[]; name: string | undefined } {
  let name: string | undefined;
  const servers = url.split(',').map((part) => {
    const m = /^((?:nats|tls):\/\/[^/?#]+)(?:\/([^?#]*))?$/i.exec(part.trim());
    if (!m) throw new ConfigError(`'${part}' is not a NATS URL (nats://host:port or nats://host:port/<name>)`);
    const path = m[2]?.replace(/\/+$/, '');
    if (path) {
      if (name !== undefined && name !== path) throw new ConfigError(`the NATS URL names two clusters: '${name}' and '${path}'`);
      name = path;
    }
    return m[1]!;
  });
  return { servers, name };
}

/** Connects to the NATS servers of `url`, a failure as a retryable TransportError. */
export async function connectNats(url: string, options: { token?: string; name: string; timeoutMs?: number; log?: (line: string) => void }): Promise<NatsConnection> {
  const { servers } = parseNatsUrl(url);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name,
      ...(options.token ? { token: options.token } : {}),
      timeout: options.timeoutMs ?? 10_000,
      // Keep trying for ever: a robot or worker outlives a NATS server restart.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      pingInterval: 10_000,
    });
  } catch (err) {
    const e = err as Error & { code?: string };
    const auth = /authori[sz]ation/i.test(e.message ?? '') || e.name === 'AuthorizationError';
    throw new TransportError(`cannot connect to NATS at ${servers.join(',')}: ${e.message ?? String(err)}${auth ? ' (check the token)' : ''}`, { retryable: !auth, cause: err });
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') options.log?.(`NATS ${s.type}${'server' in s && s.server ? ` ${s.server}` : ''}${'error' in s && s.error ? `: ${(s.error as Error).message}` : ''}`);
    }
  })().catch(() => undefined);
  return nc;
}

// ---- frames ----

const key = z.string().min(1).max(64);
const bin = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected msgpack binary' });

/** client → queue group: one attempt of a request. The body is the msgpack of the wire TaskRequest, inline or in parts. */
export const NatsRequestFrameSchema = z.object({
  t: z.literal('request'),
  id: key,
  /** The protocol version of protocol.ts. */
  v: z.number().int(),
  /** Time left for the request when it was sent (the worker stops at it). @unit ms */
  deadlineMs: z.number().int().positive(),
  /** 1, 2, …: the attempt of this request (a retry after a worker was lost, a decline). */
  attempt: z.number().int().positive(),
  bodyBytes: z.number().int().nonnegative(),
  /** Absent: the body follows in `part` frames on the control subject once accepted. */
  body: bin.optional(),
});
export type NatsRequestFrame = z.infer<typeof NatsRequestFrameSchema>;

const PartSchema = z.object({ t: z.literal('part'), id: key, data: bin, end: z.boolean() });

/** client → worker on emu.<name>.c.<key>. */
export const NatsControlFrameSchema = z.discriminatedUnion('t', [z.object({ t: z.literal('cancel'), id: key }), PartSchema]);
export type NatsControlFrame = z.infer<typeof NatsControlFrameSchema>;

/** worker → client on the reply subject: the frames of protocol.ts plus NATS's own. */
export const NatsWorkerFrameSchema = z.discriminatedUnion('t', [
  ...ServerFrameSchema.options,
  z.object({ t: z.literal('accepted'), id: key, worker: z.string(), heartbeatMs: z.number().positive() }),
  z.object({ t: z.literal('busy'), id: key, worker: z.string() }),
  z.object({ t: z.literal('hb'), id: key }),
  PartSchema,
]);
export type NatsWorkerFrame = z.input<typeof NatsWorkerFrameSchema>;

export const FreeFrameSchema = z.object({ t: z.literal('free'), worker: z.string(), slots: z.number().int().positive() });
export type FreeFrame = z.infer<typeof FreeFrameSchema>;

/** A worker's answer on emu.<name>.hello: the WebSocket handshake plus who it is and its load. */
export const WorkerHelloSchema = z.object({
  ...ServerFrameSchema.options[0].shape,
  worker: z.object({ id: z.string(), capacity: z.number().int(), open: z.number().int(), running: z.number().int(), queued: z.number().int(), forwardPasses: z.number().int().optional() }),
});
export type WorkerHello = z.infer<typeof WorkerHelloSchema>;
export type WorkerStatus = WorkerHello['worker'];

/** The largest message this connection may publish now, less room for the part frame's own fields. @unit bytes */
export function partBytes(nc: NatsConnection, cap?: number): number {
  const max = nc.info?.max_payload ?? 1024 * 1024;
  return Math.max(1024, Math.min(cap ?? Infinity, max) - PART_OVERHEAD);
}

/** Publishes one encoded frame, split into `part` frames (same subject, in order) when it is over `maxBytes`. */
export function publishFrame(nc: NatsConnection, subject: string, id: string, bytes: Uint8Array, maxBytes: number): void {
  if (bytes.length <= maxBytes) return nc.publish(subject, bytes);
  publishParts(nc, subject, id, bytes, maxBytes);
}

/** Publishes `bytes` as `part` frames of at most `maxBytes` each (at least one, the last with `end`). */
export function publishParts(nc: NatsConnection, subject: string, id: string, bytes: Uint8Array, maxBytes: number): void {
  let at = 0;
  do {
    const end = at + maxBytes >= bytes.length;
    nc.publish(subject, encodeNatsFrame({ t: 'part', id, data: bytes.subarray(at, at + maxBytes), end }));
    at += maxBytes;
  } while (at < bytes.length);
}

/** Whether a failed `nc.request` failed because nobody subscribes to the subject. */
export function isNoResponders(err: unknown): boolean {
  const e = err as { name?: string; isNoResponders?: () => boolean; cause?: { name?: string } };
  return e?.isNoResponders?.() === true || e?.name === 'NoResponders' || e?.cause?.name === 'NoResponders';
}

/** Collects the parts of one frame (they arrive in order on one subject). */
export class PartBuffer {
  readonly #parts: Uint8Array[] = [];
  #bytes = 0;
  readonly #max: number;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /** The whole frame's bytes when this was the last part, else undefined. Throws past maxBytes. */
  add(part: { data: Uint8Array; end: boolean }): Uint8Array | undefined {
    this.#bytes += part.data.length;
    if (this.#bytes > this.#max) throw new TransportError(`a frame in parts is over ${this.#max} bytes`);
    this.#parts.push(part.data);
    if (!part.end) return undefined;
    const whole = Buffer.concat(this.#parts);
    this.#parts.length = 0;
    this.#bytes = 0;
    return whole;
  }
}

/** Decodes and validates a message with `schema`; the error names what was wrong. */
export function parseMessage<S extends z.ZodType>(schema: S, bytes: Uint8Array): z.output<S> {
  const parsed = schema.safeParse(decodeFrame(bytes));
  if (!parsed.success) throw new TransportError(`bad NATS frame: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The request a body carries (msgpack of the wire TaskRequest); garbage as a TransportError. */
export function decodeRequestBody(bytes: Uint8Array): unknown {
  try {
    return decodeFrame(bytes);
  } catch (err) {
    throw new TransportError(`a request body that is not msgpack: ${(err as Error).message}`);
  }
}
