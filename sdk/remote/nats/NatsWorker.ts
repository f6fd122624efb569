import os from 'node:os';
import { nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { TransportError } from '../../errors.ts';
import { encodeFrame, errorToWire, PROTOCOL_VERSION, type ServerFrame } from '../protocol.ts';
import type { Engine } from '../serveRequest.ts';
import {
  connectNats,
  DEFAULT_CLUSTER,
  decodeRequestBody,
  encodeNatsFrame,
  natsSubjects,
  NatsControlFrameSchema,
  NatsRequestFrameSchema,
  parseMessage,
  parseNatsUrl,
  PartBuffer,
  partBytes,
  publishFrame,
  QUEUE_GROUP,
  type NatsSubjects,
  type NatsWorkerFrame,
  type WorkerStatus,
} from './natsProtocol.ts';

export interface NatsWorkerOptions {
  /** `nats://host:port`, a comma-separated list of servers, optionally `/<name>` (the cluster name). */
  url: string;
  /** The engine that runs the requests (`localEngine(backend, { limits })`): its maxConcurrency is this worker's capacity. */
  engine: Engine;
  /** The cluster name: requests come on `emu.<subject>.request`. Default: the URL's path, else `default`. */
  subject?: string;
  /** Heartbeat period while a request is open (clients declare the worker dead after missing a few). @default 1000 @unit ms */
  heartbeatMs?: number;
  /** NATS token (auth). */
  token?: string;
  /**
   * Requests taken beyond the engine's concurrency (they wait in the engine's queue). 0 keeps the
   * queue with the clients, so that a freed slot anywhere in the cluster takes the oldest request.
   * @default 0
   */
  prefetch?: number;
  /** Largest request body accepted in parts. @default the engine's maxFrameBytes @unit bytes */
  maxBodyBytes?: number;
  /** Caps the NATS message size this worker sends (parts below it), e.g. to test parts. @unit bytes */
  maxMessageBytes?: number;
  log?: (line: string) => void;
}

interface OpenRequest {
  key: string;
  reply: string;
  controller: AbortController;
  /** Why the engine's signal fired (rewrites the engine's `aborted` error frame). */
  reason?: 'cancel' | 'deadline' | 'shutdown' | 'body';
  deadline?: NodeJS.Timeout;
  control?: Subscription;
  parts?: PartBuffer;
  body?: (bytes: Uint8Array) => void;
  ended: boolean;
  settled: Promise<void>;
  settle(): void;
}

/**
 * `emu worker`: one engine as a member of a NATS queue group. It takes a request only while it has a
 * free slot (it leaves the queue group at capacity and rejoins when a slot frees, announcing it on
 * emu.<name>.free), serves it through the engine (admission, limits, cancel), streams the frames to
 * the reply subject with a heartbeat every `heartbeatMs`, and stops it at its deadline or on a cancel.
 * Adding a worker adds capacity: clients change nothing.
 *
 * @example
 * const worker = await NatsWorker.start({ url: 'nats://127.0.0.1:4222', engine: localEngine(await OnnxBackend.load('models/emu-nano')) });
 */
export class NatsWorker {
  readonly id: string;
  readonly subjects: NatsSubjects;
  readonly heartbeatMs: number;
  readonly #nc: NatsConnection;
  readonly #engine: Engine;
  readonly #capacity: number;
  readonly #maxBody: number;
  readonly #maxMessage: number | undefined;
  readonly #log: (line: string) => void;
  readonly #open = new Map<string, OpenRequest>();
  #requests: Subscription | undefined;
  #hello: Subscription | undefined;
  readonly #beat: NodeJS.Timeout;
  #closing: Promise<void> | undefined;
  /** Set before anything else when closing: no more requests taken, no slot announced. */
  #stopping = false;
  #served = 0;

  private constructor(nc: NatsConnection, options: NatsWorkerOptions, subjects: NatsSubjects) {
    this.#nc = nc;
    this.#engine = options.engine;
    this.subjects = subjects;
    this.id = `${os.hostname()}-${process.pid}-${nuid.next().slice(-6)}`;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.#capacity = options.engine.hello.limits.maxConcurrency + Math.max(0, options.prefetch ?? 0);
    this.#maxBody = options.maxBodyBytes ?? options.engine.hello.limits.maxFrameBytes;
    this.#maxMessage = options.maxMessageBytes;
    this.#log = options.log ?? (() => {});
    this.#beat = setInterval(() => this.#heartbeat(), this.heartbeatMs);
  }

  /** Connects, joins the queue group and answers discovery; resolves once the server has the subscriptions. */
  static async start(options: NatsWorkerOptions): Promise<NatsWorker> {
    const subjects = natsSubjects(options.subject ?? parseNatsUrl(options.url).name ?? DEFAULT_CLUSTER);
    const nc = await connectNats(options.url, { name: `emu-worker ${options.engine.modelName}`, ...(options.token ? { token: options.token } : {}), ...(options.log ? { log: options.log } : {}) });
    const worker = new NatsWorker(nc, options, subjects);
    worker.#hello = nc.subscribe(subjects.hello, { callback: (err, msg) => (err ? undefined : worker.#onHello(msg)) });
    worker.#updateSubscription();
    await nc.flush();
    return worker;
  }

  /** Requests this worker has taken and not finished. */
  get open(): number {
    return this.#open.size;
  }

  /** Requests finished (done or error) since start. */
  get served(): number {
    return this.#served;
  }

  status(): WorkerStatus {
    const { running, queued, forwardPasses } = this.#engine.status();
    return { id: this.id, capacity: this.#capacity, open: this.#open.size, running, queued, ...(forwardPasses !== undefined ? { forwardPasses } : {}) };
  }

  /**
   * Stops taking requests (leaves the queue group; offers still on their way are declined, and their
   * clients place them elsewhere), lets the open ones finish, then closes the connection.
   * `cancel: true` stops the open ones too: their clients get a retryable TransportError (or a retry
   * elsewhere when nothing was delivered yet).
   */
  close(options: { cancel?: boolean } = {}): Promise<void> {
    this.#stopping = true;
    if (options.cancel) for (const r of this.#open.values()) this.#abort(r, 'shutdown');
    this.#closing ??= (async () => {
      this.#updateSubscription();
      await Promise.all([...this.#open.values()].map((r) => r.settled));
      clearInterval(this.#beat);
      await this.#hello?.drain().catch(() => undefined);
      await this.#nc.drain().catch(() => undefined);
    })();
    return this.#closing;
  }

  /** In the queue group while a slot is free, out of it at capacity or when closing. */
  #updateSubscription(): void {
    const want = !this.#stopping && this.#open.size < this.#capacity;
    if (want && !this.#requests) {
      this.#requests = this.#nc.subscribe(this.subjects.request, { queue: QUEUE_GROUP, callback: (err, msg) => (err ? this.#log(`request subscription: ${err.message}`) : this.#onRequest(msg)) });
    } else if (!want && this.#requests) {
      // Drain, not unsubscribe: offers NATS routed here before it saw the UNSUB still reach the
      // callback (and are declined) instead of being dropped unanswered.
      this.#requests.drain().catch(() => undefined);
      this.#requests = undefined;
    }
  }

  #onHello(msg: Msg): void {
    if (!msg.reply) return;
    msg.respond(encodeNatsFrame({ ...this.#engine.hello, worker: this.status() }));
  }

  #send(reply: string, id: string, frame: NatsWorkerFrame | ServerFrame): void {
    if (this.#nc.isClosed()) return;
    const bytes = frame.t === 'event' || frame.t === 'error' || frame.t === 'queued' ? encodeFrame(frame as ServerFrame) : encodeNatsFrame(frame as NatsWorkerFrame);
    try {
      publishFrame(this.#nc, reply, id, bytes, partBytes(this.#nc, this.#maxMessage));
    } catch (err) {
      this.#log(`cannot send a frame for ${id}: ${(err as Error).message}`);
    }
  }

  #onRequest(msg: Msg): void {
    if (!msg.reply) return this.#log('a request without a reply subject: dropped');
    let frame;
    try {
      frame = parseMessage(NatsRequestFrameSchema, msg.data);
    } catch (err) {
      const id = msgId(msg.data);
      this.#send(msg.reply, id ?? 'unknown', { t: 'error', ...(id ? { id } : {}), error: errorToWire(new TransportError((err as Error).message)) });
      return;
    }
    const reply = msg.reply;
    if (frame.v !== PROTOCOL_VERSION) {
      this.#send(reply, frame.id, { t: 'error', id: frame.id, error: errorToWire(new TransportError(`protocol mismatch: this worker speaks version ${PROTOCOL_VERSION}, the client ${frame.v}`)) });
      return;
    }
    if (this.#stopping || this.#open.size >= this.#capacity || this.#open.has(frame.id)) {
      this.#send(reply, frame.id, { t: 'busy', id: frame.id, worker: this.id });
      return;
    }
    void this.#serve(frame.id, reply, frame);
  }

  async #serve(key: string, reply: string, frame: { deadlineMs: number; bodyBytes: number; body?: Uint8Array | undefined }): Promise<void> {
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const r: OpenRequest = { key, reply, controller: new AbortController(), ended: false, settled, settle };
    this.#open.set(key, r);
    this.#updateSubscription();
    try {
      r.control = this.#nc.subscribe(this.subjects.control(key), { callback: (err, msg) => (err ? undefined : this.#onControl(r, msg)) });
      r.deadline = setTimeout(() => this.#abort(r, 'deadline'), frame.deadlineMs);
      // Accepted after the control subscription: a cancel sent once the client heard this is heard here.
      this.#send(reply, key, { t: 'accepted', id: key, worker: this.id, heartbeatMs: this.heartbeatMs });
      let body = frame.body;
      if (!body) {
        if (frame.bodyBytes > this.#maxBody) throw new TransportError(`the request is ${frame.bodyBytes} bytes; this worker takes at most ${this.#maxBody}`);
        r.parts = new PartBuffer(frame.bodyBytes);
        body = await new Promise<Uint8Array>((resolve, reject) => {
          r.body = resolve;
          r.controller.signal.addEventListener('abort', () => reject(new TransportError('the request body did not arrive')), { once: true });
        });
      }
      const raw = decodeRequestBody(body);
      await this.#engine.serve(key, raw, { signal: r.controller.signal, send: (f) => this.#frame(r, f) });
    } catch (err) {
      this.#frame(r, { t: 'error', id: key, error: errorToWire(err) });
    } finally {
      this.#end(r);
    }
  }

  #onControl(r: OpenRequest, msg: Msg): void {
    let frame;
    try {
      frame = parseMessage(NatsControlFrameSchema, msg.data);
    } catch (err) {
      this.#log(`bad control frame for ${r.key}: ${(err as Error).message}`);
      return;
    }
    if (frame.t === 'cancel') return this.#abort(r, 'cancel');
    if (!r.parts || !r.body) return;
    try {
      const whole = r.parts.add(frame);
      if (whole) r.body(whole);
    } catch (err) {
      this.#log(`request ${r.key}: ${(err as Error).message}`);
      this.#abort(r, 'body');
    }
  }

  #abort(r: OpenRequest, reason: NonNullable<OpenRequest['reason']>): void {
    if (r.ended || r.controller.signal.aborted) return;
    r.reason = reason;
    r.controller.abort(new TransportError(`request ${reason}`));
  }

  /** A frame of the engine's: the last one (done or error) frees the slot first, then goes out. */
  #frame(r: OpenRequest, frame: ServerFrame): void {
    if (r.ended) return;
    const last = frame.t === 'error' || (frame.t === 'event' && frame.event.type === 'done');
    if (last) this.#end(r);
    if (frame.t === 'error' && r.reason && r.reason !== 'cancel') {
      const why =
        r.reason === 'deadline'
          ? { code: 'timeout', message: `the request's deadline passed on worker ${this.id}`, retryable: false }
          : r.reason === 'shutdown'
            ? { code: 'transport_failed', message: `worker ${this.id} shut down before the request finished; it is safe to retry`, retryable: true }
            : { code: 'transport_failed', message: `the request body did not arrive whole at worker ${this.id}`, retryable: true };
      frame = { ...frame, error: why };
    }
    this.#send(r.reply, r.key, frame);
  }

  /** Frees the request's slot (rejoining the queue group and announcing it), once. */
  #end(r: OpenRequest): void {
    if (r.ended) return;
    r.ended = true;
    clearTimeout(r.deadline);
    r.control?.unsubscribe();
    this.#open.delete(r.key);
    this.#served++;
    this.#updateSubscription();
    const slots = this.#capacity - this.#open.size;
    if (!this.#stopping && slots > 0 && !this.#nc.isClosed()) this.#nc.publish(this.subjects.free, encodeNatsFrame({ t: 'free', worker: this.id, slots }));
    r.settle();
  }

  #heartbeat(): void {
    for (const r of this.#open.values()) this.#send(r.reply, r.key, { t: 'hb', id: r.key });
  }
}

/** The id of a request frame that failed validation, when it has one (to address the error). */
function msgId(bytes: Uint8Array): string | undefined {
  try {
    const raw = decodeRequestBody(bytes) as { id?: unknown };
    return typeof raw?.id === 'string' && raw.id.length > 0 && raw.id.length <= 64 ? raw.id : undefined;
  } catch {
    return undefined;
  }
}
