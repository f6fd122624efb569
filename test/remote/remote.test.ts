import assert from 'node:assert/strict';
import { lastValueFrom, take, tap, toArray } from 'rxjs';
import { WebSocket } from 'ws';
import { ConfigError, InputError, OverloadedError, TransportError } from '../../sdk/errors.ts';
import type { GenerationEvent } from '../../sdk/generation/GenerationEvent.ts';
import type { TaskRequest } from '../../sdk/generation/TaskRequest.ts';
import { createRgbImage } from '../../sdk/image/RgbImage.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { EmuServer } from '../../sdk/remote/EmuServer.ts';
import { CLOSE, decodeFrame, encodeFrame, fromInt32Bytes, int32Bytes, SUBPROTOCOL, type Hello, type ServerFrame } from '../../sdk/remote/protocol.ts';
import { RemoteBackend } from '../../sdk/remote/RemoteBackend.ts';
import { localEngine, type Engine } from '../../sdk/remote/serveRequest.ts';
import { renderLayout } from '../../sim/render/renderLayout.ts';
import { makeTaskExample } from '../../sim/tasks/taskExamples.ts';

const TOKEN = 'a-test-token-of-32-characters-ok';
const all = (o: import('rxjs').Observable<GenerationEvent>) => lastValueFrom(o.pipe(toArray()));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw client: what a hostile or broken peer does, frame by frame. */
function rawClient(url: string, protocol: string | string[] = SUBPROTOCOL, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, protocol, { headers });
  const frames: ServerFrame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (d) => frames.push(decodeFrame(d as Buffer) as ServerFrame));
  ws.on('error', () => {});
  const open = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return { ws, frames, closed, open };
}

async function eventually(pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('remote inference over WebSocket (emu serve ↔ RemoteBackend) on emu-nano', function () {
  this.timeout(60_000);
  let local: OnnxBackend;
  let server: EmuServer;
  let remote: RemoteBackend;
  const logs: string[] = [];

  before(async () => {
    local = await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 1 });
    server = await EmuServer.start({ engine: localEngine(local, { limits: { maxImages: 2, maxPixels: 256 * 256, maxPromptTokens: 200, maxNewTokens: 1000, maxQueue: 2 } }), port: 0, log: (l) => logs.push(l) });
    remote = await RemoteBackend.connect(server.url);
  });
  after(async () => {
    await remote?.close();
    await server?.close();
    await local?.close();
  });

  it('the handshake carries the model facts, limits and protocol version', () => {
    const hello = remote.server;
    assert.equal(hello.protocol, 1);
    assert.equal(remote.modelName, local.modelName);
    assert.deepEqual([...remote.tasks].sort(), [...local.tasks].sort());
    assert.equal(hello.model.maxPositions, local.manifest.decoder.maxPositions);
    assert.equal(hello.model.vocab.size, local.manifest.vocab.size);
    assert.deepEqual(hello.model.sampling.t2i, local.manifest.tasks.t2i!.sampling);
    assert.equal(hello.limits.maxImages, 2);
    assert.equal(hello.device, 'cpu');
  });

  it('the same tokens, output and images remote as in-process, for every task, same seed', async () => {
    const frame = createRgbImage(64, 64, [200, 40, 40]);
    const requests: TaskRequest[] = [
      { task: 't2i', prompt: 'a red block on a table', seed: 11 },
      { task: 'x2i', prompt: 'make the block blue', images: [frame], seed: 12 },
      { task: 'story', prompt: 'a block goes for a walk', seed: 13, sampling: { maxNewTokens: 300 } },
      { task: 'howto', prompt: 'stack two blocks', seed: 14, sampling: { maxNewTokens: 300 } },
      { task: 'explore', prompt: 'walk forward', images: [frame], seed: 15, sampling: { maxNewTokens: 300 } },
      { task: 'vla', prompt: 'put the red block in the blue bowl', images: [frame], seed: 16 },
    ];
    for (const request of requests) {
      const [a, b] = [await all(local.generate(request)), await all(remote.generate(request))];
      assert.deepEqual(b.map((e) => e.type), a.map((e) => e.type), request.task);
      const [da, db] = [a.at(-1), b.at(-1)] as Array<Extract<GenerationEvent, { type: 'done' }>>;
      assert.deepEqual(db.tokens, da.tokens, `${request.task}: tokens`);
      assert.ok(da.tokens.length > 0);
      assert.deepEqual(db.output, da.output, `${request.task}: output (texts, codes, decoded pixels)`);
      assert.deepEqual({ ...db.usage, timings: 0 }, { ...da.usage, timings: 0 });
    }
  });

  it('binary fields travel as msgpack bin (int32 little-endian), not arrays of numbers', () => {
    const bytes = int32Bytes([1, -2, 282_925]);
    assert.ok(bytes instanceof Uint8Array && bytes.length === 12);
    assert.deepEqual(fromInt32Bytes(bytes), [1, -2, 282_925]);
    const packed = encodeFrame({ t: 'event', id: 'x', event: { type: 'done', output: [], tokens: bytes, usage: { promptTokens: 1, uncondPromptTokens: 0, generatedTokens: 3, forwardPasses: { cond: 3, uncond: 0 }, timings: { prefillMs: 0, decodeMs: 0, visionMs: 0, totalMs: 0 }, stopReason: 'eos' } } });
    // msgpack bin 8 (0xc4) with length 12, then the raw bytes.
    assert.ok(Buffer.from(packed).includes(Buffer.from([0xc4, 12, 1, 0, 0, 0])));
  });

  it('server errors arrive as the same SdkError subclasses; each limit is enforced with its name', async () => {
    const big = createRgbImage(300, 300);
    const cases: Array<[TaskRequest, RegExp, Function]> = [
      [{ task: 'x2i', prompt: 'p', images: [createRgbImage(8, 8), createRgbImage(8, 8), createRgbImage(8, 8)] }, /maxImages/, InputError],
      [{ task: 'x2i', prompt: 'p', images: [big] }, /maxPixels/, InputError],
      [{ task: 't2i', prompt: 'word '.repeat(400) }, /maxPromptTokens/, InputError],
      [{ task: 't2i', prompt: 'p', sampling: { maxNewTokens: 1001 } }, /maxNewTokens/, InputError],
      [{ task: 'nope' as 't2i', prompt: 'p' }, /Invalid request/, ConfigError],
    ];
    for (const [request, message, type] of cases) {
      await assert.rejects(all(remote.generate(request)), (err: unknown) => err instanceof type && message.test((err as Error).message));
    }
    // The connection is still good.
    const ok = await all(remote.generate({ task: 't2i', prompt: 'a block', seed: 1 }));
    assert.equal(ok.at(-1)!.type, 'done');
  });

  it('unsubscribing cancels on the server: its forward passes stop', async () => {
    const before = local.forwardPasses;
    const events = await lastValueFrom(remote.generate({ task: 'story', prompt: 'a long walk', seed: 3, sampling: { maxNewTokens: 500 } }).pipe(take(3), toArray()));
    assert.equal(events.length, 3);
    await sleep(150);
    const settled = local.forwardPasses;
    await sleep(300);
    assert.equal(local.forwardPasses, settled, 'no forward passes after the cancel landed');
    assert.ok(settled - before < 400, `stopped early (${settled - before} passes)`);
    await eventually(() => server.engine.status().running === 0);
  });

  it('an AbortSignal cancels; a client that disconnects mid-generation stops its work too', async () => {
    const controller = new AbortController();
    const run = all(remote.generate({ task: 'story', prompt: 'walk', seed: 4, sampling: { maxNewTokens: 500 } }, { signal: controller.signal }).pipe(tap(() => controller.abort())));
    await assert.rejects(run, { code: 'aborted' });

    const raw = rawClient(server.url);
    await raw.open;
    raw.ws.send(encodeFrame({ t: 'request', id: 'r1', request: { task: 'story', prompt: 'walk', seed: 5, sampling: { maxNewTokens: 500 } } }));
    await eventually(() => raw.frames.some((f) => f.t === 'event'));
    raw.ws.terminate();
    await eventually(() => server.engine.status().running === 0, 5000);
    const settled = local.forwardPasses;
    await sleep(300);
    assert.equal(local.forwardPasses, settled, 'the disconnected client\'s generation stopped');
  });

  it('a full queue refuses with a retryable OverloadedError; queue positions only fall', async () => {
    const positions: number[][] = [[], [], []];
    const long = (i: number) => all(remote.generate({ task: 'story', prompt: `walk ${i}`, seed: i, sampling: { maxNewTokens: 200 } }, { onQueued: (p: number) => positions[i]!.push(p) } as never));
    const runs = [long(0), long(1), long(2)];
    await sleep(20);
    // One running, two queued (maxQueue 2): the fourth is refused at once.
    await assert.rejects(all(remote.generate({ task: 't2i', prompt: 'x' })), (err: unknown) => err instanceof OverloadedError && err.retryable);
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.at(-1)!.type, 'done');
    assert.deepEqual(positions[1], [1]);
    assert.deepEqual(positions[2], [2, 1]);
  });

  it('GET /healthz and GET /metrics (Prometheus text) on the same port', async () => {
    const http = server.url.replace('ws://', 'http://');
    const health = (await (await fetch(`${http}/healthz`)).json()) as { status: string; model: string };
    assert.equal(health.status, 'ok');
    assert.equal(health.model, 'emu-nano');
    const metrics = await (await fetch(`${http}/metrics`)).text();
    assert.match(metrics, /# TYPE emu_requests_total counter/);
    assert.match(metrics, /emu_requests_total\{task="t2i",outcome="done"\} \d+/);
    assert.match(metrics, /emu_errors_total\{code="overloaded"\} [1-9]/);
    assert.match(metrics, /emu_queue_depth 0/);
    assert.match(metrics, /emu_forward_passes_total [1-9]\d*/);
    assert.match(metrics, /emu_generated_tokens_total [1-9]\d*/);
    assert.equal((await fetch(`${http}/nope`)).status, 404);
  });

  it('malformed, unknown, text and oversized frames close that connection only, with a code and reason', async () => {
    const cases: Array<[(ws: WebSocket) => void, number, RegExp]> = [
      [(ws) => ws.send(Buffer.from([0xc1, 0xc1, 0xc1])), CLOSE.malformed, /not msgpack/],
      [(ws) => ws.send(encodeFrame({ t: 'launch', id: 'x' } as never)), CLOSE.malformed, /unknown frame type 'launch'/],
      [(ws) => ws.send(encodeFrame({ t: 'request', id: '' } as never)), CLOSE.malformed, /malformed frame/],
      [(ws) => ws.send('{"t":"ping"}'), CLOSE.unsupported, /text frame/],
    ];
    for (const [send, code, reason] of cases) {
      const raw = rawClient(server.url);
      await raw.open;
      send(raw.ws);
      const closed = await raw.closed;
      assert.equal(closed.code, code, closed.reason);
      assert.match(closed.reason, reason);
    }
    const ok = await all(remote.generate({ task: 't2i', prompt: 'still fine', seed: 2 }));
    assert.equal(ok.at(-1)!.type, 'done', 'other connections unaffected');
  });

  it('sessions: the context stays on the server; steps, fork and cancel give what a local session gives; bounded per connection', async () => {
    const view = renderLayout(makeTaskExample('explore', 'heldout', 2).inputs[0]!);
    const options = { task: 'explore' as const, images: [view], seed: 21, sampling: { maxNewTokens: 100 } };
    const localSession = await local.openSession(options);
    const remoteSession = await remote.openSession(options);
    // Six steps: past emu-nano's five views per answer, so the server re-anchors as a local session does.
    for (const command of ['look left', 'look up', 'look up', 'look right', 'look down', 'look left']) {
      const a = await all(localSession.step(command));
      const b = await all(remoteSession.step(command));
      assert.deepEqual(b.map((e) => e.type), a.map((e) => e.type));
      assert.deepEqual((b.at(-1) as { tokens: number[] }).tokens, (a.at(-1) as { tokens: number[] }).tokens, command);
    }
    assert.equal(remoteSession.turns, 6);
    assert.equal(remoteSession.length, localSession.length);
    assert.equal(remoteSession.dropped, localSession.dropped);
    assert.ok(localSession.dropped > 0);
    // A cancelled remote step is rolled back on the server.
    // (decoded row by row, so the cancel reaches the server long before the view is done)
    await lastValueFrom(remoteSession.step('look right', { sampling: { image: { parallel: 'none' } } }).pipe(take(2), toArray()));
    await eventually(() => server.engine.status().running === 0);
    assert.equal(remoteSession.turns, 6, 'the cancelled step was rolled back');
    const branchLocal = localSession.fork();
    const branchRemote = remoteSession.fork();
    const [x, y] = [await all(branchLocal.step('look right')), await all(branchRemote.step('look right'))];
    assert.deepEqual((y.at(-1) as { tokens: number[] }).tokens, (x.at(-1) as { tokens: number[] }).tokens, 'fork after a cancelled step');
    assert.equal(branchRemote.turns, 7);
    // Bounded: this connection now holds 2 sessions of its 4.
    const more = [await remote.openSession(options), await remote.openSession(options)];
    await assert.rejects(remote.openSession(options), (e: unknown) => e instanceof OverloadedError && /maxSessionsPerConnection/.test((e as Error).message));
    for (const s of [...more, branchRemote, remoteSession]) s.close();
    const again = await remote.openSession(options);
    assert.equal((await all(again.step('look left'))).at(-1)!.type, 'done');
    again.close();
    for (const s of [localSession, branchLocal]) s.close();
  });

  it('a client of another protocol version gets a clear close reason', async () => {
    const raw = rawClient(server.url, 'emu.v99');
    const closed = await raw.closed;
    assert.equal(closed.code, CLOSE.protocolMismatch);
    assert.match(closed.reason, /this server speaks emu\.v1; the client offered emu\.v99/);
  });
});

/** An engine that emits what a test needs, fast: the server's own behaviour under test. */
function fakeEngine(hello: Hello, serve: Engine['serve']): Engine {
  return { hello, modelName: hello.model.name, serve, status: () => ({ running: 0, queued: 0 }) };
}

describe('emu serve --device cuda|webgpu', function () {
  this.timeout(60_000);
  it('the handshake reports the provider the decoder really runs on (cpu after a fallback, with one notice per graph)', async () => {
    for (const device of ['cuda', 'webgpu'] as const) {
      const notices: string[] = [];
      const backend = await OnnxBackend.load(DEFAULT_MODEL_DIR, { device, threads: 1, log: (l) => notices.push(l) });
      try {
        const hello = localEngine(backend, { device }).hello;
        assert.equal(hello.device, backend.device);
        const fellBack = notices.some((n) => /falling back to cpu/.test(n));
        assert.equal(backend.device, fellBack ? 'cpu' : device, notices.join('\n'));
      } finally {
        await backend.close();
      }
    }
  });
});

describe('emu serve: safety, without a model', function () {
  this.timeout(30_000);
  let hello: Hello;
  before(async () => {
    const backend = await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 1 });
    hello = localEngine(backend, { limits: { maxFrameBytes: 64 * 1024 } }).hello;
    await backend.close();
  });

  it('refuses to bind beyond loopback without a token; a short token is refused', async () => {
    const engine = fakeEngine(hello, async () => undefined);
    await assert.rejects(EmuServer.start({ engine, host: '0.0.0.0', port: 0 }), (e: unknown) => e instanceof ConfigError && /without a token/.test((e as Error).message));
    await assert.rejects(EmuServer.start({ engine, port: 0, token: 'short' }), /too short/);
  });

  it('token: missing or wrong is refused (HTTP 401, not retried), right works; the token never appears in logs', async () => {
    const logs: string[] = [];
    const engine = fakeEngine(hello, async (id, _raw, ctx) => {
      ctx.send({ t: 'event', id, event: { type: 'text.delta', text: 'hi' } });
      ctx.send({ t: 'event', id, event: { type: 'done', output: [{ type: 'text', text: 'hi' }], tokens: int32Bytes([7]), usage: { promptTokens: 1, uncondPromptTokens: 0, generatedTokens: 1, forwardPasses: { cond: 1, uncond: 0 }, timings: { prefillMs: 0, decodeMs: 0, visionMs: 0, totalMs: 0 }, stopReason: 'eos' } } });
    });
    const server = await EmuServer.start({ engine, port: 0, token: TOKEN, log: (l) => logs.push(l) });
    try {
      for (const token of [undefined, `${TOKEN}x`, TOKEN.slice(0, -1)]) {
        await assert.rejects(RemoteBackend.connect(server.url, token ? { token } : {}), (e: unknown) => e instanceof TransportError && !e.retryable && /refused the token \(HTTP 401\)/.test((e as Error).message));
      }
      const client = await RemoteBackend.connect(server.url, { token: TOKEN });
      const events = await all(client.generate({ task: 't2i', prompt: 'x' }));
      assert.deepEqual(events.map((e) => e.type), ['text.delta', 'done']);
      assert.deepEqual((events[1] as { tokens: number[] }).tokens, [7]);
      await client.close();
      assert.equal(logs.filter((l) => /refused a connection/.test(l)).length, 3);
      assert.ok(logs.every((l) => !l.includes(TOKEN.slice(4, 20))), 'no token in the logs');
    } finally {
      await server.close();
    }
  });

  it('requests per connection are bounded (maxRequestsPerConnection): the one over is refused, retryable; the others run', async () => {
    const releases: Array<() => void> = [];
    const engine = fakeEngine({ ...hello, limits: { ...hello.limits, maxRequestsPerConnection: 2 } }, (id, _raw, ctx) => {
      ctx.send({ t: 'event', id, event: { type: 'text.delta', text: 'working' } });
      return new Promise<void>((r) => releases.push(r));
    });
    const server = await EmuServer.start({ engine, port: 0 });
    const client = await RemoteBackend.connect(server.url);
    try {
      const subs = [0, 1].map(() => client.generate({ task: 't2i', prompt: 'x' }).subscribe({ error: () => {} }));
      await eventually(() => releases.length === 2);
      await assert.rejects(all(client.generate({ task: 't2i', prompt: 'x' })), (e: unknown) => e instanceof OverloadedError && e.retryable && /maxRequestsPerConnection/.test((e as Error).message));
      subs.forEach((s) => s.unsubscribe());
      releases.forEach((r) => r());
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('an oversized frame closes with 1009', async () => {
    const server = await EmuServer.start({ engine: fakeEngine(hello, async () => undefined), port: 0 });
    try {
      const raw = rawClient(server.url);
      await raw.open;
      raw.ws.send(encodeFrame({ t: 'request', id: 'big', request: { task: 'x2i', prompt: 'x', images: [{ width: 200, height: 200, data: new Uint8Array(120_000) }] } }));
      const closed = await raw.closed;
      assert.equal(closed.code, CLOSE.tooBig);
    } finally {
      await server.close();
    }
  });

  it('a slow reader cannot make the server buffer without bound: dropped, its request cancelled', async () => {
    let cancelled = false;
    const engine = fakeEngine(hello, async (id, _raw, ctx) => {
      const chunk = 'x'.repeat(256 * 1024);
      for (let i = 0; i < 400 && !ctx.signal.aborted; i++) {
        ctx.send({ t: 'event', id, event: { type: 'text.delta', text: chunk } });
        await new Promise((r) => setImmediate(r));
      }
      cancelled = ctx.signal.aborted;
    });
    const server = await EmuServer.start({ engine, port: 0, maxBufferedBytes: 4 * 1024 * 1024 });
    try {
      const raw = rawClient(server.url);
      await raw.open;
      await eventually(() => raw.frames.length > 0); // the hello
      (raw.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // stops reading
      raw.ws.send(encodeFrame({ t: 'request', id: 'flood', request: { task: 't2i', prompt: 'x' } }));
      await eventually(() => cancelled, 20_000);
      const metrics = server.metrics.render({ queueDepth: 0, running: 0, connections: 0 });
      assert.match(metrics, new RegExp(`emu_connections_closed_total\\{code="${CLOSE.slowReader}"\\} 1`));
    } finally {
      await server.close();
    }
  });

  it('a connection lost mid-request fails it with a retryable TransportError (never a hang); the client reconnects', async () => {
    let release: () => void = () => {};
    const engine = fakeEngine(hello, (id, _raw, ctx) => {
      ctx.send({ t: 'event', id, event: { type: 'text.delta', text: 'partial' } });
      return new Promise<void>((r) => (release = r));
    });
    const server = await EmuServer.start({ engine, port: 0 });
    const port = server.port;
    const client = await RemoteBackend.connect(server.url, { reconnect: { initialMs: 50, maxMs: 200 } });
    try {
      const run = all(client.generate({ task: 't2i', prompt: 'x' }));
      await sleep(100);
      await server.close();
      release();
      await assert.rejects(run, (e: unknown) => e instanceof TransportError && e.retryable && /lost/.test((e as Error).message));
      // The same host comes back: the client reconnects by itself, and the next request is served.
      const again = await EmuServer.start({
        engine: fakeEngine(hello, async (id, _raw, ctx) => ctx.send({ t: 'event', id, event: { type: 'done', output: [], tokens: int32Bytes([]), usage: { promptTokens: 1, uncondPromptTokens: 0, generatedTokens: 0, forwardPasses: { cond: 1, uncond: 0 }, timings: { prefillMs: 0, decodeMs: 0, visionMs: 0, totalMs: 0 }, stopReason: 'eos' } } })),
        port,
      });
      try {
        await eventually(() => client.connected, 5000);
        const events = await all(client.generate({ task: 't2i', prompt: 'x' }));
        assert.equal(events.at(-1)!.type, 'done');
      } finally {
        await again.close();
      }
    } finally {
      await client.close();
    }
  });
});
