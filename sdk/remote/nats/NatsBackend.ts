import { createInbox, Empty, nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Observable } from 'rxjs';
import type { z } from 'zod';
import type { EmuBackend } from '../../EmuBackend.ts';
import { AbortError, ConfigError, SdkError, TimeoutError, TransportError } from '../../errors.ts';
import type { GenerationEvent } from '../../generation/GenerationEvent.ts';
import type { TaskRequest } from '../../generation/TaskRequest.ts';
import type { TaskName } from '../../model/ModelManifest.ts';
import { errorFromWire, eventFromWire, PROTOCOL_VERSION, requestToWire, type ServerFrameSchema } from '../protocol.ts';
import type { RemoteRequestOptions } from '../RemoteBackend.ts';
import {
  connectNats,
  DEFAULT_CLUSTER,
  encodeBody,
  encodeNatsFrame,
  FreeFrameSchema,
  isNoResponders,
  natsSubjects,
  NatsWorkerFrameSchema,
  parseMessage,
  parseNatsUrl,
  PartBuffer,
  partBytes,
  publishParts,
  WorkerHelloSchema,
  type NatsSubjects,
  type WorkerHello,
  type WorkerStatus,
} from './natsProtocol.ts';

export type { RemoteRequestOptions } from '../RemoteBackend.ts';

export interface NatsBackendOptions {
  /** The NATS server's auth token (never logged). */
  token?: string;
  /** The cluster name (requests on `emu.<subject>.request`). Default: the URL's path, else `default`. */
  subject?: string;
  /** A request's whole time budget, waiting for a free worker included (per request: `deadlineMs`). @default 600000 @unit ms */
  deadlineMs?: number;
  /**
   * A worker that sends nothing for this long (no event, no heartbeat) is declared dead; at least
   * 3 of the worker's heartbeat periods. Also how long an offer may go unanswered. @default 3000 @unit ms
   */
  heartbeatTimeoutMs?: number;
  /** Retries on another worker after a worker was lost before any event arrived. @default 1 */
  retries?: number;
  /** NATS connect + the first worker's handshake. @default 10000 @unit ms */
  connectTimeoutMs?: number;
  /** While every worker is busy, how often the oldest waiting request is offered again (besides on each freed slot). @default 1000 @unit ms */
  parkRetryMs?: number;
  /** Caps the NATS message size this client sends (parts below it). @unit bytes */
  maxMessageBytes?: number;
  log?: (line: string) => void;
}

/** `RemoteRequestOptions` (signal, onQueued) plus the NATS request's own. */
export interface NatsRequestOptions extends RemoteRequestOptions {
  /** This request's deadline instead of the backend's. @unit ms */
  deadlineMs?: number;
  /** Called with the id of each worker that takes the request (twice when it was retried elsewhere). */
  onWorker?: (worker: string) => void;
}

type WireFrame = z.output<typeof ServerFrameSchema>;
export type WireEvent = Extract<WireFrame, { t: 'event' }>['event'];
export type WireError = Extract<WireFrame, { t: 'error' }>['error'];

/** Where a dispatched request's outcome goes. `event` with a `done` and `fail` are final and come once, never both. */
export interface JobSink {
  /** 1-based position while waiting: among this client's requests held for a free worker, or in a worker's queue. */
  queued?(position: number): void;
  worker?(id: string): void;
  event(event: WireEvent): void;
  fail(err: SdkError, wire?: WireError): void;
}

type JobState = 'placing' | 'parked' | 'running' | 'ended';

interface Job {
  seq: number;
  body: Uint8Array;
  sink: JobSink;
  deadlineAt: number;
  retriesLeft: number;
  /** An event reached the sink: a lost worker now fails the request instead of retrying it. */
  delivered: boolean;
  state: JobState;
  attempt: number;
  /** Declines in a row (a worker at capacity raced the offer). */
  hops: number;
  key: string | undefined;
  worker: string | undefined;
  inline: boolean;
  silenceMs: number;
  timer: NodeJS.Timeout | undefined;
  deadline: NodeJS.Timeout | undefined;
  parts: PartBuffer | undefined;
  position: number | undefined;
}

/** Declines in a row before a request waits for a freed slot instead. */
const MAX_HOPS = 4;
/** Frames in parts may reach this. @unit bytes */
const MAX_FRAME_IN_PARTS = 256 * 1024 * 1024;
/** How long a cancelled attempt's key is remembered (frames for it are answered with another cancel). @unit ms */
const TOMBSTONE_MS = 60_000;

/**
 * The client side of the NATS protocol (natsProtocol.ts), shared by `NatsBackend` and the
 * WebSocket front end (`natsEngine`): offers each request to the queue group, holds it while every
 * worker is busy (offering it again when one announces a freed slot), watches the worker's
 * heartbeats, retries on another worker when one is lost before any event arrived, and enforces the
 * deadline. Each attempt has its own key and reply subject, so a request is answered at most once.
 */
export class NatsDispatcher {
  readonly subjects: NatsSubjects;
  readonly hello: WorkerHello;
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #log: (line: string) => void;
  readonly #deadlineMs: number;
  readonly #silenceMs: number;
  readonly #retries: number;
  readonly #parkRetryMs: number;
  readonly #maxMessage: number | undefined;
  readonly #jobs = new Set<Job>();
  readonly #attempts = new Map<string, Job>();
  readonly #tombstones = new Map<string, { at: number; sent: number }>();
  readonly #parked: Job[] = [];
  readonly #subs: Subscription[] = [];
  readonly #sweep: NodeJS.Timeout;
  #parkTimer: NodeJS.Timeout | undefined;
  #seq = 0;
  #workerSeenAt = 0;
  #workerCheck: Promise<boolean> | undefined;
  #closed = false;
  #lost: TransportError | undefined;

  private constructor(nc: NatsConnection, subjects: NatsSubjects, hello: WorkerHello, options: NatsBackendOptions) {
    this.#nc = nc;
    this.subjects = subjects;
    this.hello = hello;
    this.#log = options.log ?? (() => {});
    this.#deadlineMs = options.deadlineMs ?? 600_000;
    this.#silenceMs = options.heartbeatTimeoutMs ?? 3000;
    this.#retries = options.retries ?? 1;
    this.#parkRetryMs = options.parkRetryMs ?? 1000;
    this.#maxMessage = options.maxMessageBytes;
    this.#inbox = createInbox();
    this.#workerSeenAt = Date.now();
    this.#subs.push(
      nc.subscribe(`${this.#inbox}.*`, { callback: (err, msg) => (err ? this.#log(`inbox: ${err.message}`) : this.#onReply(msg)) }),
      nc.subscribe(subjects.free, { callback: (err, msg) => (err ? undefined : this.#onFree(msg)) }),
    );
    this.#sweep = setInterval(() => {
      const old = Date.now() - TOMBSTONE_MS;
      for (const [key, t] of this.#tombstones) if (t.at < old) this.#tombstones.delete(key);
    }, TOMBSTONE_MS / 2).unref();
    void nc.closed().then((err) => {
      if (this.#closed) return;
      this.#lost = new TransportError(`the NATS connection closed${err ? `: ${err.message}` : ''}; it is safe to retry`, { retryable: true });
      this.#failAll(this.#lost);
    });
  }

  /** Connects and reads a worker's handshake (waiting up to connectTimeoutMs for one to answer). */
  static async connect(url: string, options: NatsBackendOptions = {}): Promise<NatsDispatcher> {
    const subjects = natsSubjects(options.subject ?? parseNatsUrl(url).name ?? DEFAULT_CLUSTER);
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const nc = await connectNats(url, { name: 'emu-client', timeoutMs, ...(options.token ? { token: options.token } : {}), ...(options.log ? { log: options.log } : {}) });
    try {
      const hello = await firstHello(nc, subjects, timeoutMs);
      await nc.flush();
      const d = new NatsDispatcher(nc, subjects, hello, options);
      await nc.flush(); // the inbox and free subscriptions are on the server before the first request
      return d;
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Every worker's handshake and load: the answers that come within `timeoutMs`, ending early once
   * none came for `stallMs` after the last one (workers answer within milliseconds of each other).
   */
  workers(timeoutMs = 1000, stallMs = 100): Promise<WorkerStatus[]> {
    const out: WorkerStatus[] = [];
    const inbox = createInbox();
    return new Promise((resolve) => {
      let stall: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(stall);
        clearTimeout(limit);
        sub.unsubscribe();
        resolve(out);
      };
      const sub = this.#nc.subscribe(inbox, {
        callback: (err, msg) => {
          if (err || (msg.data.length === 0 && msg.headers?.code === 503)) return finish();
          try {
            out.push(parseMessage(WorkerHelloSchema, msg.data).worker);
            this.#workerSeenAt = Date.now();
          } catch {
            // not a worker's answer
          }
          clearTimeout(stall);
          stall = setTimeout(finish, stallMs);
        },
      });
      const limit = setTimeout(finish, timeoutMs);
      try {
        this.#nc.publish(this.subjects.hello, Empty, { reply: inbox });
      } catch {
        finish();
      }
    });
  }

  /** Requests placed on a worker / waiting for one (held here or being offered). */
  status(): { running: number; queued: number } {
    let running = 0;
    for (const j of this.#jobs) if (j.state === 'running') running++;
    return { running, queued: this.#jobs.size - running };
  }

  /** Sends one request (`body`: msgpack of the wire TaskRequest). `cancel()` stops it (a no-op once it ended). */
  submit(body: Uint8Array, sink: JobSink, options: { deadlineMs?: number } = {}): { cancel(): void } {
    const deadlineMs = options.deadlineMs ?? this.#deadlineMs;
    const job: Job = {
      seq: this.#seq++,
      body,
      sink,
      deadlineAt: Date.now() + deadlineMs,
      retriesLeft: this.#retries,
      delivered: false,
      state: 'placing',
      attempt: 0,
      hops: 0,
      key: undefined,
      worker: undefined,
      inline: false,
      silenceMs: this.#silenceMs,
      timer: undefined,
      deadline: undefined,
      parts: undefined,
      position: undefined,
    };
    const handle = { cancel: () => this.#cancel(job) };
    const refused = this.#closed ? new TransportError('the NATS backend is closed') : this.#lost;
    if (refused) {
      job.state = 'ended';
      queueMicrotask(() => sink.fail(refused));
      return handle;
    }
    this.#jobs.add(job);
    job.deadline = setTimeout(() => this.#expire(job), deadlineMs);
    if (this.#parked.length > 0) {
      // Others of ours wait for a free worker already: behind them, and offer the oldest again.
      this.#park(job);
      this.#pump(1);
    } else {
      this.#place(job);
    }
    return handle;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    clearInterval(this.#parkTimer);
    this.#failAll(new TransportError('the NATS backend was closed'));
    await this.#nc.drain().catch(() => undefined);
  }

  // ---- placing ----

  #place(job: Job): void {
    if (job.state === 'ended') return;
    const remaining = job.deadlineAt - Date.now();
    if (remaining <= 0) return this.#expire(job);
    const key = nuid.next();
    job.key = key;
    job.attempt++;
    job.state = 'placing';
    job.worker = undefined;
    job.parts = undefined;
    job.silenceMs = this.#silenceMs;
    const max = partBytes(this.#nc, this.#maxMessage);
    job.inline = job.body.length + 256 <= max;
    this.#attempts.set(key, job);
    const frame = { t: 'request' as const, id: key, v: PROTOCOL_VERSION, deadlineMs: Math.ceil(remaining), attempt: job.attempt, bodyBytes: job.body.length, ...(job.inline ? { body: job.body } : {}) };
    try {
      this.#nc.publish(this.subjects.request, encodeNatsFrame(frame), { reply: `${this.#inbox}.${key}` });
    } catch (err) {
      this.#end(job);
      job.sink.fail(new TransportError(`cannot send the request over NATS: ${(err as Error).message}`, { retryable: true, cause: err }));
      return;
    }
    this.#arm(job, key);
  }

  /** The silence timer of the current attempt (refreshed by each frame). */
  #arm(job: Job, key: string): void {
    clearTimeout(job.timer);
    job.timer = setTimeout(() => this.#silent(job, key), job.silenceMs);
  }

  /** Holds a request until a worker frees a slot (FIFO by submission). */
  #park(job: Job): void {
    clearTimeout(job.timer);
    if (job.key) this.#attempts.delete(job.key);
    job.key = undefined;
    job.state = 'parked';
    if (!this.#parked.includes(job)) {
      let at = this.#parked.length;
      while (at > 0 && this.#parked[at - 1]!.seq > job.seq) at--;
      this.#parked.splice(at, 0, job);
    }
    this.#announce();
    this.#parkTimer ??= setInterval(() => {
      if (this.#parked.length === 0) {
        clearInterval(this.#parkTimer);
        this.#parkTimer = undefined;
      } else this.#pump(1);
    }, this.#parkRetryMs).unref();
  }

  /** Offers the `n` oldest held requests again. */
  #pump(n: number): void {
    for (let i = 0; i < n && this.#parked.length > 0; i++) {
      const job = this.#parked.shift()!;
      job.hops = 0;
      this.#place(job);
    }
    this.#announce();
  }

  /** Tells held requests their new places (only those whose place changed). */
  #announce(): void {
    this.#parked.forEach((job, i) => {
      if (job.position === i + 1) return;
      job.position = i + 1;
      job.sink.queued?.(i + 1);
    });
  }

  /** NATS said nobody subscribes to the request subject: every worker is busy, or there is none. */
  #noResponders(job: Job): void {
    this.#park(job);
    void this.#anyWorker().then((any) => {
      if (any || this.#parked.length === 0) return;
      const err = new TransportError(`no emu worker is serving ${this.subjects.request} (start one: emu worker --nats …); it is safe to retry`, { retryable: true });
      for (const j of [...this.#parked]) {
        this.#end(j);
        j.sink.fail(err);
      }
    });
  }

  /** Whether any worker answers discovery (cached for a second; any frame from a worker counts). */
  #anyWorker(): Promise<boolean> {
    if (Date.now() - this.#workerSeenAt < 1000) return Promise.resolve(true);
    this.#workerCheck ??= this.#nc
      .request(this.subjects.hello, Empty, { timeout: this.#silenceMs })
      .then(
        () => ((this.#workerSeenAt = Date.now()), true),
        (err: unknown) => !isNoResponders(err), // a timeout: someone subscribes, slow to answer
      )
      .finally(() => (this.#workerCheck = undefined));
    return this.#workerCheck;
  }

  // ---- frames ----

  #onFree(msg: Msg): void {
    let free;
    try {
      free = parseMessage(FreeFrameSchema, msg.data);
    } catch {
      return;
    }
    this.#workerSeenAt = Date.now();
    this.#pump(free.slots);
  }

  #onReply(msg: Msg): void {
    const key = msg.subject.slice(this.#inbox.length + 1);
    const job = this.#attempts.get(key);
    if (!job) return this.#stale(key);
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      this.#attempts.delete(key);
      return this.#noResponders(job);
    }
    let frame;
    try {
      frame = parseMessage(NatsWorkerFrameSchema, msg.data);
      if (frame.t === 'part') {
        job.timer?.refresh();
        job.parts ??= new PartBuffer(MAX_FRAME_IN_PARTS);
        const whole = job.parts.add(frame);
        if (!whole) return;
        frame = parseMessage(NatsWorkerFrameSchema, whole);
        if (frame.t === 'part') throw new TransportError('a part inside a part');
      }
    } catch (err) {
      this.#tombstone(key);
      this.#end(job);
      job.sink.fail(new TransportError(`bad frame from worker ${job.worker ?? '(unknown)'}: ${(err as Error).message}`));
      return;
    }
    this.#workerSeenAt = Date.now();
    job.timer?.refresh();
    switch (frame.t) {
      case 'busy':
        this.#attempts.delete(key);
        clearTimeout(job.timer);
        if (++job.hops < MAX_HOPS) this.#place(job);
        else this.#park(job);
        return;
      case 'accepted':
        if (job.state !== 'placing') return;
        job.state = 'running';
        job.worker = frame.worker;
        job.hops = 0;
        job.silenceMs = Math.max(this.#silenceMs, 3 * frame.heartbeatMs);
        this.#arm(job, key);
        if (!job.inline) publishParts(this.#nc, this.subjects.control(key), key, job.body, partBytes(this.#nc, this.#maxMessage));
        job.sink.worker?.(frame.worker);
        // This worker had room; another may too.
        if (this.#parked.length > 0) this.#pump(1);
        return;
      case 'queued':
        job.sink.queued?.(frame.position);
        return;
      case 'event':
        job.delivered = true;
        if (frame.event.type === 'done') this.#end(job);
        job.sink.event(frame.event);
        return;
      case 'error': {
        const err = errorFromWire(frame.error);
        if (!job.delivered && err instanceof TransportError && err.retryable && job.retriesLeft > 0) {
          job.retriesLeft--;
          this.#attempts.delete(key);
          this.#log(`request attempt ${key}: ${err.message}; retrying on another worker`);
          this.#place(job);
          return;
        }
        if (!job.delivered && err.code === 'overloaded') {
          this.#park(job);
          return;
        }
        this.#end(job);
        job.sink.fail(err, frame.error);
        return;
      }
      case 'hb':
      case 'hello':
      case 'pong':
        return;
    }
  }

  /** A frame for an attempt given up on: the worker has not heard the cancel (or it was lost), say it again. */
  #stale(key: string): void {
    const t = this.#tombstones.get(key);
    if (!t || Date.now() - t.sent < 250) return;
    t.sent = Date.now();
    this.#sendCancel(key);
  }

  #tombstone(key: string): void {
    const now = Date.now();
    this.#tombstones.set(key, { at: now, sent: now });
    this.#sendCancel(key);
  }

  #sendCancel(key: string): void {
    if (this.#nc.isClosed()) return;
    try {
      this.#nc.publish(this.subjects.control(key), encodeNatsFrame({ t: 'cancel', id: key }));
    } catch {
      // closing
    }
  }

  /** No frame from the attempt's worker for silenceMs: lost (dead, stalled or cut off). */
  #silent(job: Job, key: string): void {
    if (job.key !== key || (job.state !== 'placing' && job.state !== 'running')) return;
    const placing = job.state === 'placing';
    this.#attempts.delete(key);
    this.#tombstone(key);
    const what = placing ? `no worker answered the request within ${job.silenceMs} ms` : `worker ${job.worker} sent nothing for ${job.silenceMs} ms (it died, stalled or lost its connection)`;
    if (!job.delivered && job.retriesLeft > 0) {
      job.retriesLeft--;
      this.#log(`request attempt ${key}: ${what}; retrying`);
      this.#place(job);
      return;
    }
    this.#end(job);
    job.sink.fail(new TransportError(`${what}${job.delivered ? ' after it had sent events' : ''}; it is safe to retry`, { retryable: true }));
  }

  #expire(job: Job): void {
    if (job.state === 'ended') return;
    const key = job.key;
    const active = job.state === 'placing' || job.state === 'running';
    const waited = job.state === 'parked' || (job.state === 'placing' && job.attempt > 1);
    this.#end(job);
    if (key && active) this.#tombstone(key);
    job.sink.fail(new TimeoutError(waited && !job.delivered ? 'no worker took the request before its deadline (every worker stayed busy)' : "the request's deadline passed before it finished"));
  }

  #cancel(job: Job): void {
    if (job.state === 'ended') return;
    const key = job.key;
    const active = job.state === 'placing' || job.state === 'running';
    this.#end(job);
    if (key && active) this.#tombstone(key);
  }

  #end(job: Job): void {
    if (job.state === 'ended') return;
    const wasParked = job.state === 'parked';
    job.state = 'ended';
    clearTimeout(job.timer);
    clearTimeout(job.deadline);
    if (job.key) this.#attempts.delete(job.key);
    this.#jobs.delete(job);
    if (wasParked) {
      const at = this.#parked.indexOf(job);
      if (at >= 0) this.#parked.splice(at, 1);
      this.#announce();
    }
  }

  #failAll(err: SdkError): void {
    for (const job of [...this.#jobs]) {
      const key = job.key;
      const active = job.state === 'placing' || job.state === 'running';
      this.#end(job);
      if (key && active) this.#sendCancel(key);
      job.sink.fail(err);
    }
  }
}

/** The first worker's handshake on emu.<name>.hello, waiting for one to come up until `timeoutMs`. */
async function firstHello(nc: NatsConnection, subjects: NatsSubjects, timeoutMs: number): Promise<WorkerHello> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    try {
      const msg = await nc.request(subjects.hello, Empty, { timeout: Math.max(100, Math.min(2000, until - Date.now())) });
      const hello = parseMessage(WorkerHelloSchema, msg.data);
      if (hello.protocol !== PROTOCOL_VERSION) throw new ConfigError(`protocol mismatch: the workers on ${subjects.hello} speak version ${hello.protocol}, this client ${PROTOCOL_VERSION}`);
      return hello;
    } catch (err) {
      if (err instanceof SdkError) throw err;
      last = isNoResponders(err) ? 'no worker subscribed' : (err as Error).message;
      if (isNoResponders(err)) await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new TransportError(`no emu worker answered on ${subjects.hello} within ${timeoutMs} ms (${last}); start one with \`emu worker --nats …\``, { retryable: true });
}

/**
 * The workers of a NATS queue group as one `EmuBackend` (`nats://host:4222[/name]`): planners, the
 * bridge, the simulator and the CLI use it exactly as the in-process engine. Adding a worker adds
 * capacity; nothing changes here. A request goes to a worker with a free slot (or waits here, FIFO,
 * until one frees); events stream as the worker emits them; an unsubscribe or an aborted signal
 * cancels it on the worker. A worker lost before it sent an event (missed heartbeats) → the request
 * is retried on another (`retries`); after → a retryable `TransportError`. Never a second `done`.
 *
 * @example
 * const backend = await NatsBackend.connect('nats://nats.lab:4222', { token: process.env.EMU_NATS_TOKEN });
 */
export class NatsBackend implements EmuBackend {
  readonly url: string;
  readonly #d: NatsDispatcher;

  private constructor(url: string, dispatcher: NatsDispatcher) {
    this.url = url;
    this.#d = dispatcher;
  }

  static async connect(url: string, options: NatsBackendOptions = {}): Promise<NatsBackend> {
    return new NatsBackend(url, await NatsDispatcher.connect(url, options));
  }

  /** The handshake of the worker that answered first: model facts, device, per-worker limits. */
  get server(): WorkerHello {
    return this.#d.hello;
  }

  get subjects(): NatsSubjects {
    return this.#d.subjects;
  }

  get modelName(): string {
    return this.#d.hello.model.name;
  }

  get tasks(): readonly TaskName[] {
    return this.#d.hello.model.tasks;
  }

  /** The workers answering now, with their load (see NatsDispatcher.workers). */
  workers(timeoutMs?: number, stallMs?: number): Promise<WorkerStatus[]> {
    return this.#d.workers(timeoutMs, stallMs);
  }

  /** Requests on a worker now / waiting for one. */
  status(): { running: number; queued: number } {
    return this.#d.status();
  }

  generate(request: TaskRequest, options: NatsRequestOptions = {}): Observable<GenerationEvent> {
    return new Observable<GenerationEvent>((subscriber) => {
      const signal = options.signal;
      if (signal?.aborted) {
        subscriber.error(new AbortError('The operation was aborted', { cause: signal.reason }));
        return;
      }
      let body: Uint8Array;
      try {
        body = encodeBody(requestToWire(request));
      } catch (err) {
        subscriber.error(new ConfigError(`the request cannot be encoded: ${(err as Error).message}`));
        return;
      }
      const handle = this.#d.submit(
        body,
        {
          ...(options.onQueued ? { queued: options.onQueued } : {}),
          ...(options.onWorker ? { worker: options.onWorker } : {}),
          event: (wire) => {
            let event: GenerationEvent;
            try {
              event = eventFromWire(wire);
            } catch (err) {
              handle.cancel();
              subscriber.error(new TransportError(`bad event from a worker: ${(err as Error).message}`));
              return;
            }
            subscriber.next(event);
            if (event.type === 'done') subscriber.complete();
          },
          fail: (err) => subscriber.error(err),
        },
        { ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}) },
      );
      const onAbort = () => {
        handle.cancel();
        subscriber.error(new AbortError('The operation was aborted', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      return () => {
        signal?.removeEventListener('abort', onAbort);
        handle.cancel();
      };
    });
  }

  close(): Promise<void> {
    return this.#d.close();
  }
}
