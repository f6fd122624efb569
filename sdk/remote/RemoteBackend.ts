import { randomUUID } from 'node:crypto';
import { Observable, throwError } from 'rxjs';
import { WebSocket } from 'ws';
import type { EmuBackend } from '../EmuBackend.ts';
import { AbortError, InputError, SdkError, TransportError } from '../errors.ts';
import type { GenerationSessionOptions } from '../session/GenerationSession.ts';
import { RemoteSession, type SessionLink } from './RemoteSession.ts';
import type { GenerationEvent } from '../generation/GenerationEvent.ts';
import type { RequestOptions, TaskRequest } from '../generation/TaskRequest.ts';
import type { TaskName } from '../model/ModelManifest.ts';
import { CLOSE, decodeFrame, encodeFrame, errorFromWire, eventFromWire, PROTOCOL_VERSION, requestToWire, ServerFrameSchema, SUBPROTOCOL, type ClientFrame, type Hello } from './protocol.ts';

export interface RemoteBackendOptions {
  /** Sent as `Authorization: Bearer <token>` (never logged). */
  token?: string;
  /** How long a connection may take, handshake included. @default 10000 @unit ms */
  connectTimeoutMs?: number;
  /** Ping period. @default 5000 @unit ms */
  pingIntervalMs?: number;
  /** No frame from the server for this long and the connection is declared dead. @default 15000 @unit ms */
  deadAfterMs?: number;
  /** Reconnect backoff: the first delay, doubled per failure up to the max (with jitter). */
  reconnect?: { initialMs?: number; maxMs?: number };
  log?: (line: string) => void;
}

/** `RequestOptions` plus what only a remote engine has: the queue. */
export interface RemoteRequestOptions extends RequestOptions {
  /** Called with the request's 1-based place in the server's queue while it waits for a slot. */
  onQueued?: (position: number) => void;
}

interface Pending {
  next(event: GenerationEvent): void;
  error(err: unknown): void;
  complete(): void;
  onQueued?: (position: number) => void;
}

/** Fatal: reconnecting would fail the same way (a bad token, another protocol version). */
class FatalConnectError extends TransportError {}

/**
 * The engine on another host, behind `emu serve`, as an `EmuBackend`: planners, the bridge, the
 * simulator and the CLI use it exactly as the in-process one. Events stream as the server emits
 * them; an unsubscribe or an aborted signal cancels the request on the server (its engine work
 * stops). A dropped connection fails the requests in flight with a retryable `TransportError`
 * (never a hang) and reconnects in the background with backoff; errors from the server arrive as
 * the same `SdkError` subclasses as in-process.
 *
 * @example
 * const backend = await RemoteBackend.connect('ws://gpu-host:8765', { token: process.env.EMU_TOKEN });
 */
export class RemoteBackend implements EmuBackend {
  readonly url: string;
  readonly #options: RemoteBackendOptions;
  #hello: Hello;
  #ws: WebSocket | undefined;
  #ready: Promise<WebSocket> | undefined;
  readonly #pending = new Map<string, Pending>();
  readonly #sessions = new Map<string, RemoteSession>();
  #closed = false;
  #fatal: TransportError | undefined;
  #failures = 0;
  #ping: NodeJS.Timeout | undefined;
  #lastFrameAt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;

  private constructor(url: string, options: RemoteBackendOptions, ws: WebSocket, hello: Hello) {
    this.url = url;
    this.#options = options;
    this.#hello = hello;
    this.#adopt(ws);
  }

  /** Connects and reads the server's handshake (its model, limits and protocol version). */
  static async connect(url: string, options: RemoteBackendOptions = {}): Promise<RemoteBackend> {
    const { ws, hello } = await openConnection(url, options);
    return new RemoteBackend(url, options, ws, hello);
  }

  /** The server's handshake: model facts, device and limits. */
  get server(): Hello {
    return this.#hello;
  }

  get modelName(): string {
    return this.#hello.model.name;
  }

  get tasks(): readonly TaskName[] {
    return this.#hello.model.tasks;
  }

  /** Whether a connection is open now. */
  get connected(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  generate(request: TaskRequest, options: RemoteRequestOptions = {}): Observable<GenerationEvent> {
    return this.#stream((id) => ({ t: 'request', id, request: requestToWire(request) }), options);
  }

  /**
   * A session whose context (the KV cache) stays on the server; the same API as in-process. Bounded
   * per connection by the server (`maxSessionsPerConnection`); a session ends with its connection.
   */
  async openSession(options: GenerationSessionOptions = {}): Promise<RemoteSession> {
    if ((this.#hello.limits.maxSessionsPerConnection ?? 0) === 0) throw new InputError('input_invalid', `the server at ${this.url} keeps no sessions`);
    const ws = await this.#connection();
    const session = new RemoteSession(this.#sessionLink(ws), randomUUID(), this.#hello.model.maxPositions);
    ws.send(encodeFrame({ t: 'session.open', sid: session.id, options: requestToWire(options as TaskRequest) } satisfies ClientFrame));
    await session.ready;
    return session;
  }

  #sessionLink(ws: WebSocket): SessionLink {
    return {
      stream: (frame, options) => (ws === this.#ws ? this.#stream(frame, options) : throwError(() => new TransportError(`the session was lost with its connection to ${this.url}; open a new one`, { retryable: true }))),
      send: (frame) => {
        if (ws === this.#ws && ws.readyState === WebSocket.OPEN) ws.send(encodeFrame(frame));
      },
      register: (session) => this.#sessions.set(session.id, session),
      unregister: (sid) => this.#sessions.delete(sid),
      link: () => this.#sessionLink(ws),
    };
  }

  #stream(frameFor: (id: string) => ClientFrame, options: RemoteRequestOptions): Observable<GenerationEvent> {
    return new Observable<GenerationEvent>((subscriber) => {
      const id = randomUUID();
      let sent: WebSocket | undefined;
      let finished = false;
      const finish = () => {
        finished = true;
        this.#pending.delete(id);
        options.signal?.removeEventListener('abort', onAbort);
        this.#keepAlive();
      };
      const onAbort = () => {
        cancel();
        subscriber.error(new AbortError('The operation was aborted', { cause: options.signal?.reason }));
      };
      const cancel = () => {
        if (finished) return;
        finish();
        if (sent?.readyState === WebSocket.OPEN) sent.send(encodeFrame({ t: 'cancel', id }));
      };
      if (options.signal?.aborted) {
        subscriber.error(new AbortError('The operation was aborted', { cause: options.signal.reason }));
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        next: (e) => subscriber.next(e),
        error: (err) => {
          finish();
          subscriber.error(err);
        },
        complete: () => {
          finish();
          subscriber.complete();
        },
        ...(options.onQueued ? { onQueued: options.onQueued } : {}),
      });
      this.#connection().then(
        (ws) => {
          if (finished) return;
          sent = ws;
          this.#keepAlive();
          ws.send(encodeFrame(frameFor(id)));
        },
        (err: unknown) => this.#pending.get(id)?.error(err),
      );
      return cancel;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#failAll(new TransportError('the remote backend was closed'));
    const ws = this.#ws;
    this.#stopPing();
    if (ws && ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(CLOSE.normal, 'client closing');
        setTimeout(() => (ws.terminate(), resolve()), 1000).unref();
      });
    }
  }

  /** The open connection, or the reconnect in progress (bounded by connectTimeoutMs). */
  #connection(): Promise<WebSocket> {
    if (this.#closed) return Promise.reject(new TransportError('the remote backend is closed'));
    if (this.#fatal) return Promise.reject(this.#fatal);
    if (this.#ws?.readyState === WebSocket.OPEN) return Promise.resolve(this.#ws);
    this.#ready ??= this.#reconnect();
    return this.#ready;
  }

  async #reconnect(): Promise<WebSocket> {
    clearTimeout(this.#reconnectTimer);
    try {
      const { ws, hello } = await openConnection(this.url, this.#options);
      if (this.#closed) {
        ws.terminate();
        throw new TransportError('the remote backend is closed');
      }
      this.#hello = hello;
      this.#failures = 0;
      this.#adopt(ws);
      this.#options.log?.(`reconnected to ${this.url}`);
      return ws;
    } catch (err) {
      this.#failures++;
      if (err instanceof FatalConnectError) this.#fatal = err;
      else this.#scheduleReconnect();
      throw err;
    } finally {
      this.#ready = undefined;
    }
  }

  /** Background reconnects after a drop, with exponential backoff and jitter. */
  #scheduleReconnect(): void {
    if (this.#closed || this.#fatal) return;
    const { initialMs = 200, maxMs = 5000 } = this.#options.reconnect ?? {};
    const delay = Math.min(maxMs, initialMs * 2 ** Math.min(this.#failures, 16)) * (0.5 + Math.random() / 2);
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      if (!this.connected) this.#connection().catch(() => undefined);
    }, delay).unref();
  }

  #adopt(ws: WebSocket): void {
    this.#ws = ws;
    this.#lastFrameAt = Date.now();
    this.#keepAlive();
    ws.on('message', (data, isBinary) => this.#onFrame(ws, data as Buffer, isBinary));
    ws.on('close', (code, why) => this.#onClose(ws, code, why.toString()));
    ws.on('error', (err) => this.#options.log?.(`connection to ${this.url}: ${err.message}`));
    this.#stopPing();
    const every = this.#options.pingIntervalMs ?? 5000;
    const deadAfter = this.#options.deadAfterMs ?? 15_000;
    this.#ping = setInterval(() => {
      if (Date.now() - this.#lastFrameAt > deadAfter) {
        this.#options.log?.(`no frame from ${this.url} for ${deadAfter} ms: dropping the connection`);
        ws.terminate();
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame({ t: 'ping', at: Date.now() }));
    }, every).unref();
  }

  /**
   * An idle connection does not keep the process alive (like an HTTP keep-alive socket): a CLI or
   * simulation run that forgot `close()` still exits; a request in flight holds it open.
   */
  #keepAlive(): void {
    const socket = (this.#ws as unknown as { _socket?: { ref(): void; unref(): void } } | undefined)?._socket;
    if (this.#pending.size > 0) socket?.ref();
    else socket?.unref();
  }

  #stopPing(): void {
    clearInterval(this.#ping);
    this.#ping = undefined;
  }

  #onFrame(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    this.#lastFrameAt = Date.now();
    let frame;
    try {
      if (!isBinary) throw new Error('a text frame');
      const parsed = ServerFrameSchema.safeParse(decodeFrame(data));
      if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      frame = parsed.data;
    } catch (err) {
      this.#options.log?.(`bad frame from ${this.url} (${(err as Error).message}): dropping the connection`);
      ws.terminate();
      return;
    }
    switch (frame.t) {
      case 'event': {
        const pending = this.#pending.get(frame.id);
        if (!pending) return; // cancelled here, the server had not heard yet
        let event: GenerationEvent;
        try {
          event = eventFromWire(frame.event);
        } catch (err) {
          pending.error(new TransportError(`bad event from ${this.url}: ${(err as Error).message}`));
          return;
        }
        pending.next(event);
        if (event.type === 'done') pending.complete();
        return;
      }
      case 'session.state':
        this.#sessions.get(frame.sid)?.update(frame);
        return;
      case 'error': {
        const err = errorFromWire(frame.error);
        if (frame.id && this.#sessions.has(frame.id)) this.#sessions.get(frame.id)!.fail(err);
        else if (frame.id) this.#pending.get(frame.id)?.error(err);
        else this.#options.log?.(`server ${this.url}: [${err.code}] ${err.message}`);
        return;
      }
      case 'queued':
        this.#pending.get(frame.id)?.onQueued?.(frame.position);
        return;
      case 'pong':
      case 'hello':
        return;
    }
  }

  #onClose(ws: WebSocket, code: number, why: string): void {
    if (ws !== this.#ws) return;
    this.#stopPing();
    this.#ws = undefined;
    if (this.#closed) return;
    const fatal = code === CLOSE.protocolMismatch || code === CLOSE.policy;
    const err = fatal
      ? new FatalConnectError(`the server at ${this.url} closed the connection: ${why || code}`)
      : new TransportError(`connection to ${this.url} lost (${code}${why ? ` ${why}` : ''}) before the request finished; it is safe to retry`, { retryable: true });
    if (fatal) this.#fatal = err;
    this.#failAll(err);
    this.#scheduleReconnect();
  }

  #failAll(err: SdkError): void {
    // Sessions live on the connection: they end with it.
    for (const s of this.#sessions.values()) s.fail(new TransportError(`the session was lost with its connection to ${this.url}; open a new one`, { retryable: true }));
    this.#sessions.clear();
    for (const p of [...this.#pending.values()]) p.error(err);
    this.#pending.clear();
  }
}

/** One connection: WebSocket open, then the server's hello (first frame), checked. */
function openConnection(url: string, options: RemoteBackendOptions): Promise<{ ws: WebSocket; hello: Hello }> {
  return new Promise((resolve, reject) => {
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const ws = new WebSocket(url, SUBPROTOCOL, { headers: options.token ? { authorization: `Bearer ${options.token}` } : {}, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => fail(new TransportError(`no handshake from ${url} within ${timeoutMs} ms`, { retryable: true })), timeoutMs);
    const fail = (err: TransportError) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(err);
    };
    ws.once('unexpected-response', (_req, res) => {
      if (res.statusCode === 401) fail(new FatalConnectError(`the server at ${url} refused the token (HTTP 401): pass the server's --token`));
      else fail(new TransportError(`the server at ${url} answered HTTP ${res.statusCode} instead of a WebSocket`, { retryable: (res.statusCode ?? 0) >= 500 }));
    });
    ws.once('error', (err) => fail(new TransportError(`cannot connect to ${url}: ${err.message}`, { retryable: true, cause: err } as never)));
    ws.once('close', (code, why) => {
      const text = why.toString();
      if (code === CLOSE.protocolMismatch) fail(new FatalConnectError(`${text} (this client speaks ${SUBPROTOCOL})`));
      else fail(new TransportError(`the server at ${url} closed the connection during the handshake (${code} ${text})`, { retryable: true }));
    });
    ws.once('message', (data, isBinary) => {
      let hello: Hello;
      try {
        const parsed = ServerFrameSchema.safeParse(isBinary ? decodeFrame(data as Buffer) : undefined);
        if (!parsed.success || parsed.data.t !== 'hello') throw new Error('the first frame is not a handshake');
        hello = parsed.data as Hello;
      } catch (err) {
        return fail(new FatalConnectError(`${url} does not speak the emu protocol: ${(err as Error).message}`));
      }
      if (hello.protocol !== PROTOCOL_VERSION) return fail(new FatalConnectError(`protocol mismatch: the server at ${url} speaks version ${hello.protocol}, this client ${PROTOCOL_VERSION}`));
      clearTimeout(timer);
      ws.removeAllListeners();
      resolve({ ws, hello });
    });
  });
}
