import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { lastValueFrom, Observable, toArray } from 'rxjs';
import { TimeoutError, TransportError } from '../../sdk/errors.ts';
import type { GenerationEvent } from '../../sdk/generation/GenerationEvent.ts';
import type { TaskRequest } from '../../sdk/generation/TaskRequest.ts';
import { createRgbImage } from '../../sdk/image/RgbImage.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { NatsBackend } from '../../sdk/remote/nats/NatsBackend.ts';
import { encodeBody, encodeNatsFrame, NatsRequestFrameSchema, parseMessage, QUEUE_GROUP } from '../../sdk/remote/nats/natsProtocol.ts';
import { decodeFrame, PROTOCOL_VERSION, requestToWire } from '../../sdk/remote/protocol.ts';
import { NatsWorker } from '../../sdk/remote/nats/NatsWorker.ts';
import { RemoteBackend } from '../../sdk/remote/RemoteBackend.ts';
import { localEngine } from '../../sdk/remote/serveRequest.ts';

/**
 * Against a real nats-server (EMU_TEST_NATS_URL, as CI starts one, else one spawned here when
 * `nats-server` is on PATH, else skipped) with real `emu worker` processes on emu-nano. Each suite
 * uses its own cluster name, so a shared server is never confused by another run.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HEARTBEAT_MS = 200;
const SILENCE_MS = 1000;

const t2iReq: TaskRequest = { task: 't2i', prompt: 'a red block in the blue bowl', seed: 3 };
const camera = createRgbImage(128, 128, [90, 120, 60]);
const vlaReq: TaskRequest = { task: 'vla', prompt: 'put the red block in the blue bowl', images: [camera], seed: 5, sampling: { maxNewTokens: 48 } };
/** Runs about a second on emu-nano: long enough to cancel, kill or time out mid-way. */
const longReq: TaskRequest = { task: 'vla', prompt: 'stack the blocks', images: [camera], seed: 7 };

const cluster = (tag: string) => `${tag}${randomBytes(4).toString('hex')}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A child process that prints `marker` on stdout once ready; its stderr is kept for the failure message. */
function startProcess(args: string[], marker: RegExp, what: string): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/emu.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`${what} not ready within 40 s:\n${err}`))), 40_000);
    child.stdout!.on('data', (d) => {
      out += String(d);
      const m = out.split('\n').find((l) => marker.test(l));
      if (m) {
        clearTimeout(timer);
        resolve({ child, line: m });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready:\n${err}`));
    });
  });
}

const startWorker = (url: string, ...extra: string[]) => startProcess(['worker', '--nats', url, '--model', DEFAULT_MODEL_DIR, '--heartbeat-ms', String(HEARTBEAT_MS), ...extra], /^worker ready /, 'emu worker').then((p) => p.child);

async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/** The pid in a worker id (`<host>-<pid>-<suffix>`). */
const pidOf = (workerId: string) => Number(workerId.split('-').at(-2));

const collectAll = (o: Observable<GenerationEvent>) => lastValueFrom(o.pipe(toArray()));
const doneOf = (events: GenerationEvent[]) => {
  const dones = events.filter((e) => e.type === 'done');
  assert.equal(dones.length, 1, 'exactly one done');
  assert.equal(events.at(-1)!.type, 'done', 'done comes last');
  return dones[0] as Extract<GenerationEvent, { type: 'done' }>;
};
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('NATS: emu workers in a queue group', function () {
  this.timeout(60_000);
  let base: string;
  let natsServer: ChildProcess | undefined;
  let local: OnnxBackend;
  const children: ChildProcess[] = [];
  const closers: (() => Promise<void>)[] = [];

  before(async function () {
    if (process.env.EMU_TEST_NATS_URL) {
      base = process.env.EMU_TEST_NATS_URL.replace(/\/+$/, '');
    } else {
      if (spawnSync('nats-server', ['--version']).status !== 0) return this.skip(); // no NATS here: install nats-server or set EMU_TEST_NATS_URL
      const port = await freePort();
      natsServer = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        let err = '';
        natsServer!.stderr!.on('data', (d) => {
          err += String(d);
          if (/Server is ready/.test(err)) resolve();
        });
        natsServer!.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${err}`)));
      });
      base = `nats://127.0.0.1:${port}`;
    }
    local = await OnnxBackend.load(DEFAULT_MODEL_DIR);
  });

  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await Promise.all(children.map((c) => stop(c, 'SIGKILL')));
    await local?.close();
    await stop(natsServer);
  });

  const track = <T extends ChildProcess>(c: T): T => (children.push(c), c);
  const connectBackend = async (url: string, options: Parameters<typeof NatsBackend.connect>[1] = {}) => {
    const b = await NatsBackend.connect(url, { heartbeatTimeoutMs: SILENCE_MS, connectTimeoutMs: 20_000, ...options });
    closers.push(() => b.close());
    return b;
  };

  it('connecting with no worker on the cluster fails fast with a retryable TransportError', async () => {
    const t0 = Date.now();
    await assert.rejects(NatsBackend.connect(`${base}/${cluster('none')}`, { connectTimeoutMs: 600 }), (err: unknown) => err instanceof TransportError && err.retryable && /no emu worker/.test(err.message));
    assert.ok(Date.now() - t0 < 5000);
  });

  describe('two workers', () => {
    let url: string;
    let backend: NatsBackend;
    before(async () => {
      url = `${base}/${cluster('pair')}`;
      await Promise.all([startWorker(url), startWorker(url)].map((p) => p.then(track)));
      backend = await connectBackend(url);
    });

    it('the handshake is the workers: model name, tasks, protocol', () => {
      assert.equal(backend.modelName, 'emu-nano');
      assert.deepEqual([...backend.tasks].sort(), [...local.tasks].sort());
      assert.equal(backend.subjects.request, `emu.${url.split('/').at(-1)}.request`);
    });

    for (const [name, req] of [
      ['t2i', t2iReq],
      ['vla', vlaReq],
    ] as const) {
      it(`${name}: the same events and tokens over NATS as in-process for the same seed`, async () => {
        const [remote, here] = await Promise.all([collectAll(backend.generate(req)), collectAll(local.generate(req))]);
        assert.deepEqual(
          remote.map((e) => e.type),
          here.map((e) => e.type),
        );
        const a = doneOf(remote);
        const b = doneOf(here);
        assert.deepEqual(a.tokens, b.tokens);
        assert.deepEqual(a.output, b.output);
      });
    }

    it('two workers share the load: a worker at capacity takes no more, so two at once go to both', async () => {
      // Each worker runs one request at a time (--max-concurrency 1) and leaves the queue group while
      // busy: the second of two concurrent requests goes to the other worker, every time (random
      // routing would pass four rounds in a row 1 time in 16).
      const all = new Set<string>();
      for (let round = 0; round < 4; round++) {
        const served: string[] = [];
        const runs = await Promise.all([0, 1].map((i) => collectAll(backend.generate({ ...t2iReq, seed: 20 + 2 * round + i }, { onWorker: (w) => served.push(w) }))));
        runs.forEach(doneOf);
        assert.equal(served.length, 2, `one worker per request: ${served.join(', ')}`);
        assert.equal(new Set(served).size, 2, `round ${round}: both workers served: ${served.join(', ')}`);
        served.forEach((w) => all.add(w));
      }
      assert.equal(all.size, 2);
      assert.equal((await backend.workers()).length, 2);
    });

    it('cancel (unsubscribe) stops the work on the worker', async () => {
      const full = await collectAll(local.generate(longReq));
      const fullPasses = doneOf(full).usage.forwardPasses;
      const passes = async () => (await backend.workers()).reduce((n, w) => n + (w.forwardPasses ?? 0), 0);
      const before = await passes();
      let worker = '';
      await new Promise<void>((resolve, reject) => {
        const sub = backend.generate(longReq, { onWorker: (w) => (worker = w) }).subscribe({
          next: (e) => {
            if (e.type === 'start') {
              sub.unsubscribe();
              resolve();
            }
          },
          error: reject,
          complete: () => reject(new Error('finished before the cancel')),
        });
      });
      assert.ok(worker);
      const t0 = Date.now();
      for (;;) {
        const open = (await backend.workers()).find((w) => w.id === worker)?.open;
        if (open === 0) break;
        assert.ok(Date.now() - t0 < 3000, 'the worker still runs the cancelled request');
        await delay(25);
      }
      const after = await passes();
      await delay(200);
      assert.equal(await passes(), after, 'no forward passes after the request ended');
      assert.ok(after - before < (fullPasses.cond + fullPasses.uncond) / 2, `stopped early: ${after - before} of ${fullPasses.cond + fullPasses.uncond} passes`);
    });

    it('the deadline stops a request: TimeoutError here, and the worker stops it by itself', async () => {
      const t0 = Date.now();
      await assert.rejects(collectAll(backend.generate(longReq, { deadlineMs: 250 })), TimeoutError);
      assert.ok(Date.now() - t0 < 1500);
      // A client that vanished sends no cancel: the worker ends the request at its deadline itself.
      const nc: NatsConnection = await connect({ servers: base });
      closers.push(() => nc.close());
      const inbox = createInbox();
      const frames: { t: string; error?: { code: string }; event?: { type: string } }[] = [];
      const ended = new Promise<void>((resolve) => {
        nc.subscribe(inbox, {
          callback: (_err, msg) => {
            const f = decodeFrame(msg.data) as (typeof frames)[number];
            frames.push(f);
            if (f.t === 'error' || f.event?.type === 'done') resolve();
          },
        });
      });
      const body = encodeBody(requestToWire(longReq));
      const t1 = Date.now();
      nc.publish(backend.subjects.request, encodeNatsFrame({ t: 'request', id: 'raw-deadline', v: PROTOCOL_VERSION, deadlineMs: 250, attempt: 1, bodyBytes: body.length, body }), { reply: inbox });
      await Promise.race([ended, delay(3000)]);
      assert.equal(frames[0]?.t, 'accepted');
      assert.equal(frames.at(-1)?.t, 'error', `ended by an error frame: ${frames.map((f) => f.event?.type ?? f.t).join(',')}`);
      assert.equal(frames.at(-1)?.error?.code, 'timeout');
      assert.ok(Date.now() - t1 < 900, `stopped ${Date.now() - t1} ms after it was sent`);
      for (const t = Date.now(); ; ) {
        if ((await backend.workers()).every((w) => w.open === 0)) break;
        assert.ok(Date.now() - t < 3000, 'a worker still runs the expired request');
        await delay(25);
      }
    });

    it('emu serve --nats: a WebSocket front end, RemoteBackend clients unchanged', async () => {
      const { child, line } = await startProcess(['serve', '--nats', url, '--port', '0'], /^listening ws:\/\//, 'emu serve --nats');
      track(child);
      const remote = await RemoteBackend.connect(line.slice('listening '.length).trim());
      closers.push(() => remote.close());
      assert.equal(remote.modelName, 'emu-nano');
      const [over, here] = await Promise.all([collectAll(remote.generate(t2iReq)), collectAll(local.generate(t2iReq))]);
      assert.deepEqual(doneOf(over).tokens, doneOf(here).tokens);
      // Several at once through the front end: each answered once.
      const many = await Promise.all([1, 2, 3].map((s) => collectAll(remote.generate({ ...t2iReq, seed: s }))));
      many.forEach(doneOf);
      await remote.close();
      await stop(child);
    });

    it('emu sim eval --backend nats://… --workers 2 spreads the episodes over the workers, with the results of a local run', () => {
      const emu = path.join(root, 'bin/emu.js');
      const dir = mkdtempSync(path.join(tmpdir(), 'emu-nats-eval-'));
      const common = ['sim', 'eval', '--suite', 'spatial', '--split', 'heldout', '--episodes', '4', '--seed', '5', '--no-physics', '--workers', '2'];
      const run = (args: string[]) => spawnSync(process.execPath, [emu, ...common, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      const remote = run(['--backend', url, '--out', path.join(dir, 'nats')]);
      assert.equal(remote.status, 0, remote.stderr);
      const here = run(['--model', DEFAULT_MODEL_DIR, '--out', path.join(dir, 'local')]);
      assert.equal(here.status, 0, here.stderr);
      type Ep = { id: string; success: boolean; plans: number; subgoals: Array<{ instruction: string; ok: boolean; keyframePsnr?: number }> };
      const read = (d: string) => (JSON.parse(readFileSync(path.join(dir, d, 'results.json'), 'utf8')) as { episodes: Ep[] }).episodes.map((e) => [e.id, e.success, e.plans, e.subgoals.map((g) => [g.instruction, g.ok, g.keyframePsnr])]);
      assert.equal(read('local').length, 4);
      assert.deepEqual(read('nats'), read('local'));
    });
  });

  describe('a worker lost mid-request', () => {
    let url: string;
    let backend: NatsBackend;
    before(async () => {
      url = `${base}/${cluster('kill')}`;
      await Promise.all([startWorker(url), startWorker(url)].map((p) => p.then(track)));
      backend = await connectBackend(url, { retries: 1 });
    });

    it('SIGKILLed after it sent events: a retryable TransportError within the heartbeat timeout, no done', async () => {
      const events: GenerationEvent[] = [];
      let killedAt = 0;
      let worker = '';
      const err = await new Promise<unknown>((resolve) => {
        backend.generate(longReq, { onWorker: (w) => (worker = w) }).subscribe({
          next: (e) => {
            events.push(e);
            if (e.type === 'start') {
              const child = children.find((c) => c.pid === pidOf(worker));
              assert.ok(child, `worker ${worker} is one of ours`);
              child.kill('SIGKILL');
              killedAt = Date.now();
            }
          },
          error: resolve,
          complete: () => resolve(new Error('completed although its worker was killed')),
        });
      });
      assert.ok(err instanceof TransportError && err.retryable, `a retryable TransportError, got ${String(err)}`);
      const took = Date.now() - killedAt;
      assert.ok(took < SILENCE_MS + 1500, `failed ${took} ms after the kill`);
      assert.equal(events.filter((e) => e.type === 'done').length, 0);
    });

    it('lost before any event: retried on another worker, answered once', async () => {
      // Every live worker is busy with a long request (so out of the queue group): NATS routes the
      // next offer to its only member, a fake that accepts and then dies without a word.
      const live = (await backend.workers()).length;
      assert.ok(live >= 1);
      let taken = 0;
      let allTaken!: () => void;
      const busy = new Promise<void>((r) => (allTaken = r));
      const longs = Array.from({ length: live }, () => collectAll(backend.generate(longReq, { onWorker: () => ++taken === live && allTaken() })));
      await busy;
      const nc: NatsConnection = await connect({ servers: base });
      closers.push(() => nc.close());
      const ghost = nc.subscribe(backend.subjects.request, {
        queue: QUEUE_GROUP,
        callback: (_err, msg) => {
          const frame = parseMessage(NatsRequestFrameSchema, msg.data);
          nc.publish(msg.reply!, encodeNatsFrame({ t: 'accepted', id: frame.id, worker: 'ghost', heartbeatMs: HEARTBEAT_MS }));
          ghost.unsubscribe();
        },
      });
      await nc.flush();
      const served: string[] = [];
      const t0 = Date.now();
      const [events, here] = await Promise.all([collectAll(backend.generate(t2iReq, { onWorker: (w) => served.push(w) })), collectAll(local.generate(t2iReq))]);
      assert.equal(served[0], 'ghost', `the fake took it first: ${served.join(', ')}`);
      assert.equal(served.length, 2);
      assert.notEqual(served[1], 'ghost');
      assert.deepEqual(doneOf(events).tokens, doneOf(here).tokens);
      assert.ok(Date.now() - t0 > SILENCE_MS - 100, 'the loss was noticed by the missed heartbeats');
      (await Promise.all(longs)).forEach(doneOf);
    });
  });

  it('worker shutdown: close({ cancel }) hands a not-started request to another worker; close() lets the open ones finish', async () => {
    const url = `${base}/${cluster('close')}`;
    const reference = doneOf(await collectAll(local.generate(t2iReq)));
    const other = await OnnxBackend.load(DEFAULT_MODEL_DIR);
    closers.push(() => other.close());
    // A takes two (prefetch 1): the long one runs, the t2i waits in A's queue.
    const a = await NatsWorker.start({ url, engine: localEngine(local), heartbeatMs: HEARTBEAT_MS, prefetch: 1 });
    closers.push(() => a.close({ cancel: true }));
    const backend = await connectBackend(url, { parkRetryMs: 200 });
    const onA: string[] = [];
    let bothOnA!: () => void;
    const taken = new Promise<void>((r) => (bothOnA = r));
    const onWorker = (w: string) => (onA.push(w), onA.length === 2 && bothOnA());
    const long = collectAll(backend.generate(longReq, { onWorker })).then(
      () => new Error('the long request finished although its worker was cancelled'),
      (err: unknown) => err,
    );
    const queuedWorkers: string[] = [];
    let positions = 0;
    const queued = collectAll(backend.generate(t2iReq, { onWorker: (w) => (queuedWorkers.push(w), onWorker(w)), onQueued: () => positions++ }));
    await taken;
    assert.deepEqual(onA, [a.id, a.id]);
    const b = await NatsWorker.start({ url, engine: localEngine(other), heartbeatMs: HEARTBEAT_MS });
    closers.push(() => b.close({ cancel: true }));
    await a.close({ cancel: true });
    const err = await long;
    assert.ok(err instanceof TransportError && err.retryable, `the running one: a retryable TransportError, got ${String(err)}`);
    const done = doneOf(await queued);
    assert.deepEqual(queuedWorkers, [a.id, b.id], 'the queued one was retried on the other worker');
    assert.ok(positions > 0, 'its place in the queue was reported');
    assert.deepEqual(done.tokens, reference.tokens);
    // Graceful: the open request finishes, then the worker is gone.
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const last = collectAll(backend.generate(longReq, { onWorker: () => started() }));
    await running;
    // (A close() that did not wait would cut the connection: no done, a TransportError here.)
    const closed = b.close();
    doneOf(await last);
    await closed;
    assert.equal(b.open, 0);
    await assert.rejects(collectAll(backend.generate(t2iReq)), (e: unknown) => e instanceof TransportError && e.retryable && /no emu worker is serving/.test(e.message));
  });

  it('frames over the NATS message size travel in parts (a camera frame in, a decoded image out)', async () => {
    const url = `${base}/${cluster('parts')}`;
    const worker = await NatsWorker.start({ url, engine: localEngine(local), heartbeatMs: HEARTBEAT_MS, maxMessageBytes: 8 * 1024 });
    closers.push(() => worker.close());
    const backend = await connectBackend(url, { maxMessageBytes: 8 * 1024 });
    // A spy on every message of this cluster and of the reply inboxes: none may be over the cap.
    const spy: NatsConnection = await connect({ servers: base });
    closers.push(() => spy.close());
    let largest = 0;
    let parts = 0;
    for (const subject of [`emu.${backend.subjects.name}.>`, '_INBOX.>']) {
      spy.subscribe(subject, {
        callback: (_err, msg) => {
          largest = Math.max(largest, msg.data.length);
          if (msg.data.length > 0 && (decodeFrame(msg.data) as { t?: string }).t === 'part') parts++;
        },
      });
    }
    await spy.flush();
    const big = createRgbImage(160, 120, [10, 200, 30]) // 57,600 bytes of pixels
    for (const req of [{ ...vlaReq, images: [big] }, t2iReq]) {
      // One after the other: the in-process worker runs on `local` too.
      const remote = await collectAll(backend.generate(req));
      const here = await collectAll(local.generate(req));
      const a = doneOf(remote);
      assert.deepEqual(a.tokens, doneOf(here).tokens);
      assert.deepEqual(a.output, doneOf(here).output);
    }
    const image = doneOf(await collectAll(backend.generate(t2iReq))).output.find((o) => o.type === 'image');
    assert.ok(image?.type === 'image' && image.image && image.image.data.length > 8 * 1024, 'a decoded image larger than one message');
    await spy.flush();
    assert.ok(largest <= 8 * 1024, `the largest message was ${largest} bytes`);
    assert.ok(parts > 10, `${parts} parts seen`);
  });
});
