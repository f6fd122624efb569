import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { ConfigError } from '../errors.ts';
import { CLOSE, ClientFrameSchema, decodeFrame, encodeFrame, SUBPROTOCOL, type ServerFrame } from './protocol.ts';
import type { Engine } from './serveRequest.ts';
import { errorToWire } from './protocol.ts';
import { InputError } from '../errors.ts';
import type { EmuSession } from '../session/EmuSession.ts';
import { ServerMetrics } from './ServerMetrics.ts';

export interface EmuServerOptions {
  /** What runs the requests: `localEngine(backend)` in-process, or a NATS front end's engine. */
  engine: Engine;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8765 */
  port?: number;
  /** Required unless bound to loopback. Sent by clients as `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest frame accepted (the handshake's `limits.maxFrameBytes`). */
  /** A client whose unsent bytes pass this is dropped (CLOSE.slowReader). @default 16 MiB @unit bytes */
  maxBufferedBytes?: number;
  /** WebSocket ping period; a client that misses one is dropped. @default 15000 @unit ms */
  heartbeatMs?: number;
  /** Shared with the engine (`localEngine(backend, { metrics })`) so request counts land in one place. */
  metrics?: ServerMetrics;
  log?: (line: string) => void;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** A WebSocket close reason is at most 123 bytes. */
function reason(text: string): string {
  const bytes = Buffer.from(text);
  return bytes.length <= 123 ? text : `${bytes.subarray(0, 119).toString().replace(/\uFFFD+$/, '')}...`;
}

interface Connection {
  ws: WebSocket;
  requests: Map<string, AbortController>;
  /** Open sessions by id (a promise while opening: steps may follow the open frame at once). */
  sessions: Map<string, Promise<EmuSession>>;
  alive: boolean;
}

/**
 * `emu serve`: the engine behind a WebSocket (msgpack frames, see protocol.ts) plus `GET /healthz`
 * and `GET /metrics` on the same port. A connection gets the handshake first; each request runs
 * through the shared scheduler (concurrency + queue). A bad frame closes only its connection, with a
 * close code and reason; a disconnect or cancel stops the engine work of its requests.
 *
 * @example
 * const server = await EmuServer.start({ engine: localEngine(await OnnxBackend.load('models/emu-nano')), port: 0 });
 * const remote = await RemoteBackend.connect(server.url);
 */
export class EmuServer {
  readonly engine: Engine;
  readonly metrics: ServerMetrics;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #tokenDigest: Buffer | undefined;
  readonly #connections = new Set<Connection>();
  readonly #maxBuffered: number;
  readonly #log: (line: string) => void;
  readonly #hello: Uint8Array;
  readonly #heartbeat: NodeJS.Timeout;
  #closed = false;

  private constructor(options: EmuServerOptions, http: Server) {
    this.engine = options.engine;
    this.metrics = options.metrics ?? options.engine.metrics ?? new ServerMetrics();
    this.#http = http;
    this.#tokenDigest = options.token ? digest(options.token) : undefined;
    this.#maxBuffered = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.#log = options.log ?? (() => {});
    this.#hello = encodeFrame(options.engine.hello);
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.engine.hello.limits.maxFrameBytes,
      // Accept whatever version the client offers, so that a mismatch gets a close reason saying
      // which one this server speaks (a refused handshake would only say "no subprotocol").
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : ([...offered][0] ?? false)),
    });
    http.on('request', (req, res) => this.#onHttp(req, res));
    http.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
    this.#wss.on('connection', (ws, req) => this.#onConnection(ws, req));
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs ?? 15_000).unref();
  }

  static async start(options: EmuServerOptions): Promise<EmuServer> {
    const host = options.host ?? '127.0.0.1';
    if (!LOOPBACK.has(host) && !options.token) throw new ConfigError(`refusing to serve on ${host} without a token: pass --token or --token-file (only loopback may go without)`);
    if (options.token !== undefined && options.token.length < 16) throw new ConfigError('the token is too short: use at least 16 characters (e.g. `openssl rand -hex 32`)');
    const http = createServer();
    const server = new EmuServer(options, http);
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 8765, host, () => resolve());
    });
    return server;
  }

  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  get url(): string {
    const { address, family } = this.#http.address() as AddressInfo;
    return `ws://${family === 'IPv6' ? `[${address}]` : address}:${this.port}`;
  }

  get connections(): number {
    return this.#connections.size;
  }

  /** Stops accepting, cancels every request (their engine work stops), closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const c of this.#connections) this.#drop(c, CLOSE.goingAway, 'server shutting down');
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#http.closeAllConnections?.();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #onHttp(req: IncomingMessage, res: import('node:http').ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const { running, queued } = this.engine.status();
      res.end(JSON.stringify({ status: this.#closed ? 'closing' : 'ok', model: this.engine.modelName, running, queued, connections: this.#connections.size }));
    } else if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      const { running, queued, forwardPasses } = this.engine.status();
      res.end(this.metrics.render({ queueDepth: queued, running, connections: this.#connections.size, ...(forwardPasses !== undefined ? { forwardPasses } : {}) }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: the engine speaks WebSocket here; GET /healthz, GET /metrics\n');
    }
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed) return void socket.destroy();
    if (this.#tokenDigest && !this.#authorized(req)) {
      // The token is never logged, nor what the client sent.
      this.#log(`refused a connection from ${req.socket.remoteAddress}: missing or wrong token`);
      this.metrics.closed(401);
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nunauthorized: send Authorization: Bearer <token>\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit('connection', ws, req));
  }

  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    // Digests of equal length: the comparison takes the same time whatever was sent.
    return timingSafeEqual(digest(given), this.#tokenDigest!);
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const conn: Connection = { ws, requests: new Map(), sessions: new Map(), alive: true };
    this.metrics.connectionsTotal++;
    if (ws.protocol !== SUBPROTOCOL) {
      this.metrics.closed(CLOSE.protocolMismatch);
      ws.close(CLOSE.protocolMismatch, reason(`protocol mismatch: this server speaks ${SUBPROTOCOL}; the client offered ${ws.protocol || 'none'}`));
      return;
    }
    this.#connections.add(conn);
    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data, isBinary) => this.#onMessage(conn, data as Buffer, isBinary));
    ws.on('close', () => this.#forget(conn));
    ws.on('error', (err) => {
      // ws closes with 1009 by itself on an oversized frame; count it like our own closes.
      if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.metrics.closed(CLOSE.tooBig);
      this.#log(`connection from ${req.socket.remoteAddress}: ${err.message}`);
    });
    ws.send(this.#hello);
  }

  #onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    conn.alive = true;
    if (!isBinary) return this.#drop(conn, CLOSE.unsupported, 'text frame: this protocol is msgpack over binary frames');
    let raw: unknown;
    try {
      raw = decodeFrame(data);
    } catch {
      return this.#drop(conn, CLOSE.malformed, 'malformed frame: not msgpack');
    }
    const parsed = ClientFrameSchema.safeParse(raw);
    if (!parsed.success) {
      const t = (raw as { t?: unknown })?.t;
      return this.#drop(conn, CLOSE.malformed, typeof t === 'string' && !['request', 'cancel', 'ping', 'session.open', 'session.step', 'session.fork', 'session.close'].includes(t) ? `unknown frame type '${t}'` : `malformed frame: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`);
    }
    const frame = parsed.data;
    switch (frame.t) {
      case 'ping':
        return this.#send(conn, { t: 'pong', at: frame.at });
      case 'cancel':
        conn.requests.get(frame.id)?.abort();
        return;
      case 'request':
        return this.#request(conn, frame.id, frame.request);
      case 'session.open':
        return this.#openSession(conn, frame.sid, () => this.engine.openSession!(frame.options));
      case 'session.fork':
        return this.#openSession(conn, frame.sid, async () => {
          const from = conn.sessions.get(frame.from);
          if (!from) throw new InputError('input_invalid', `no session '${frame.from}' on this connection`);
          return (await from).fork();
        });
      case 'session.close': {
        const session = conn.sessions.get(frame.sid);
        conn.sessions.delete(frame.sid);
        session?.then((x) => x.close(), () => undefined);
        return;
      }
      case 'session.step':
        return this.#step(conn, frame.id, frame.sid, frame.text, frame.sampling);
    }
  }

  #openSession(conn: Connection, sid: string, open: () => Promise<EmuSession>): void {
    const refuse = (code: string, message: string, retryable = false) => this.#send(conn, { t: 'error', id: sid, error: { code, message, retryable } });
    const max = this.engine.hello.limits.maxSessionsPerConnection ?? 0;
    if (!this.engine.openSession || max === 0) return refuse('input_invalid', 'this server keeps no sessions');
    if (conn.sessions.has(sid)) return this.#drop(conn, CLOSE.malformed, `session id '${sid}' is already in use on this connection`);
    if (conn.sessions.size >= max) return refuse('overloaded', `this connection already holds ${conn.sessions.size} sessions (maxSessionsPerConnection); close one first`, true);
    const opening = open();
    conn.sessions.set(sid, opening);
    opening.then(
      (session) => this.#sendState(conn, sid, session),
      (err: unknown) => {
        conn.sessions.delete(sid);
        this.#send(conn, { t: 'error', id: sid, error: errorToWire(err) });
      },
    );
  }

  #sendState(conn: Connection, sid: string, session: EmuSession): void {
    this.#send(conn, { t: 'session.state', sid, turns: session.turns, length: session.length, dropped: session.dropped, maxPositions: (session as { maxPositions?: number }).maxPositions ?? this.engine.hello.model.maxPositions });
  }

  #step(conn: Connection, id: string, sid: string, text: string, sampling: unknown): void {
    if (conn.requests.has(id)) return this.#drop(conn, CLOSE.malformed, `request id '${id}' is already in use on this connection`);
    const opening = conn.sessions.get(sid);
    if (!opening) return this.#send(conn, { t: 'error', id, error: { code: 'input_invalid', message: `no session '${sid}' on this connection (closed, or never opened)`, retryable: false } });
    const controller = new AbortController();
    conn.requests.set(id, controller);
    const send = (f: ServerFrame) => this.#send(conn, f);
    void opening
      .then(async (session) => {
        await this.engine.serveStep!(session, id, text, sampling, { signal: controller.signal, send });
        this.#sendState(conn, sid, session);
      })
      .catch((err: unknown) => send({ t: 'error', id, error: errorToWire(err) }))
      .finally(() => conn.requests.delete(id));
  }

  #request(conn: Connection, id: string, raw: unknown): void {
    if (conn.requests.has(id)) return this.#drop(conn, CLOSE.malformed, `request id '${id}' is already in use on this connection`);
    if (conn.requests.size >= this.engine.hello.limits.maxRequestsPerConnection) {
      return this.#send(conn, { t: 'error', id, error: { code: 'overloaded', message: `this connection already has ${conn.requests.size} requests open (maxRequestsPerConnection)`, retryable: true } });
    }
    const controller = new AbortController();
    conn.requests.set(id, controller);
    void this.engine.serve(id, raw, { signal: controller.signal, send: (f) => this.#send(conn, f) }).finally(() => {
      conn.requests.delete(id);
    });
  }

  #send(conn: Connection, frame: ServerFrame): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(encodeFrame(frame));
    // Backpressure: a client that does not read must not make the server buffer without bound.
    if (conn.ws.bufferedAmount > this.#maxBuffered) this.#drop(conn, CLOSE.slowReader, `slow reader: over ${this.#maxBuffered} bytes unsent`);
  }

  /** Closes one connection with a code and reason, cancelling its requests. */
  #drop(conn: Connection, code: number, text: string): void {
    this.metrics.closed(code);
    this.#forget(conn);
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.close(code, reason(text));
    // A peer that does not answer the close handshake (a slow reader) is cut off.
    setTimeout(() => conn.ws.terminate(), 1000).unref();
  }

  #forget(conn: Connection): void {
    if (!this.#connections.delete(conn)) return;
    for (const c of conn.requests.values()) c.abort();
    // A client's sessions live as long as its connection: their contexts are freed with it.
    for (const s of conn.sessions.values()) s.then((x) => x.close(), () => undefined);
    conn.sessions.clear();
  }

  #beat(): void {
    for (const conn of this.#connections) {
      if (!conn.alive) {
        this.#forget(conn);
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

