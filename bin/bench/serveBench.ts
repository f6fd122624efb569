/**
 * `npm run bench:serve`: the remote engine against the in-process one on emu-nano, side by side in
 * one run: per request (wall time), per token ((remote − local) / tokens), and per event (server
 * send → client receive, one clock: the server runs in this process). With `--nats URL` (or
 * EMU_TEST_NATS_URL), also throughput with 1, 2 and 4 `emu worker` processes behind NATS.
 *
 *   npm run bench:serve -- [--rounds 20] [--nats nats://127.0.0.1:4222] [--no-write]
 */
import { parseArgs } from 'node:util';
import { lastValueFrom, toArray } from 'rxjs';
import type { EmuBackend } from '../../sdk/EmuBackend.ts';
import type { TaskRequest } from '../../sdk/generation/TaskRequest.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { EmuServer } from '../../sdk/remote/EmuServer.ts';
import { RemoteBackend } from '../../sdk/remote/RemoteBackend.ts';
import { localEngine, type Engine } from '../../sdk/remote/serveRequest.ts';
import { percentile } from './benchPlannerModel.ts';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';
import { natsThroughput, withNatsWorkers } from './serveNatsBench.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '20' }, nats: { type: 'string' }, 'no-write': { type: 'boolean', default: false }, model: { type: 'string' } },
});
const rounds = Number(values.rounds);
const modelDir = values.model ?? DEFAULT_MODEL_DIR;
const natsUrl = values.nats ?? process.env.EMU_TEST_NATS_URL;

const local = await OnnxBackend.load(modelDir, { threads: 1 });
// Stamps every event frame as the server hands it to the socket, by request id.
const sentAt = new Map<string, number[]>();
const inner = localEngine(local, { limits: { maxQueue: 64 } });
const engine: Engine = {
  ...inner,
  serve: (id, raw, ctx) =>
    inner.serve(id, raw, {
      signal: ctx.signal,
      send: (frame) => {
        if (frame.t === 'event') (sentAt.get(id) ?? sentAt.set(id, []).get(id)!).push(performance.now());
        ctx.send(frame);
      },
    }),
};
const server = await EmuServer.start({ engine, port: 0 });
const remote = await RemoteBackend.connect(server.url);

const REQUESTS: Array<[string, TaskRequest]> = [
  ['t2i (one 8x8-token image)', { task: 't2i', prompt: 'a red block on a green block', seed: 5 }],
  ['story (text + images, 400 tokens)', { task: 'story', prompt: 'a block goes for a walk', seed: 6, sampling: { maxNewTokens: 400 } }],
];

async function timed(backend: EmuBackend, request: TaskRequest) {
  const started = performance.now();
  const events = await lastValueFrom(backend.generate(request).pipe(toArray()));
  const done = events.at(-1) as { type: 'done'; usage: { generatedTokens: number } };
  return { ms: performance.now() - started, tokens: done.usage.generatedTokens, events: events.length };
}

const eventLatency: number[] = [];

const rows: string[][] = [];
for (const [name, request] of REQUESTS) {
  const l: number[] = [];
  const r: number[] = [];
  let tokens = 0;
  let events = 0;
  for (let i = 0; i < 2; i++) {
    await timed(local, request); // warm-up
    await timed(remote, request);
  }
  for (let i = 0; i < rounds; i++) {
    // Alternating, so drift on a noisy machine hits both the same.
    const a = await timed(local, request);
    const b = await timed(remote, request);
    l.push(a.ms);
    r.push(b.ms);
    sentAt.clear();
    tokens = a.tokens;
    events = a.events;
  }
  const lp = percentile(l, 50);
  const rp = percentile(r, 50);
  rows.push([name, String(tokens), String(events), lp.toFixed(1), rp.toFixed(1), (rp / lp).toFixed(3), ((1000 * (rp - lp)) / tokens).toFixed(1)]);
}

// Per-event delivery: a client-side tap of receive times against the server's send stamps.
{
  const request = REQUESTS[1]![1];
  for (let i = 0; i < rounds; i++) {
    const before = new Set(sentAt.keys());
    const received: number[] = [];
    await new Promise<void>((resolve, reject) =>
      remote.generate(request).subscribe({ next: () => received.push(performance.now()), error: reject, complete: () => resolve() }),
    );
    const id = [...sentAt.keys()].find((k) => !before.has(k))!;
    const sent = sentAt.get(id)!;
    sent.forEach((t, k) => eventLatency.push(received[k]! - t));
    sentAt.delete(id);
  }
}

// Per request and per token over NATS: one worker process, alternating with in-process.
if (natsUrl) {
  await withNatsWorkers(natsUrl, modelDir, 1, async (natsBackend) => {
    for (const [name, request] of REQUESTS) {
      const l: number[] = [];
      const r: number[] = [];
      let tokens = 0;
      let events = 0;
      await timed(natsBackend, request); // warm-up
      for (let i = 0; i < rounds; i++) {
        const a = await timed(local, request);
        const b = await timed(natsBackend, request);
        l.push(a.ms);
        r.push(b.ms);
        tokens = a.tokens;
        events = a.events;
      }
      const lp = percentile(l, 50);
      const rp = percentile(r, 50);
      rows.push([`${name}, over NATS (1 worker process)`, String(tokens), String(events), lp.toFixed(1), rp.toFixed(1), (rp / lp).toFixed(3), ((1000 * (rp - lp)) / tokens).toFixed(1)]);
    }
  });
}

const nats = natsUrl ? await natsThroughput({ natsUrl, modelDir, log: (l) => console.error(l) }) : undefined;

await remote.close();
await server.close();
await local.close();

const body = [
  `Command: \`npm run bench:serve -- --rounds ${rounds}${natsUrl ? ` --nats ${natsUrl}` : ''}\` (bin/bench/serveBench.ts). ${machineLine()}`,
  'Setup: emu-nano, 1 ORT thread; `emu serve`\'s server (EmuServer + localEngine) in this process on loopback, RemoteBackend client; over NATS, one `emu worker` process and a NatsBackend client. Local and remote requests alternate, p50 over the rounds. (The NATS worker is another process, so its row also carries that process\'s own speed.)',
  '',
  markdownTable(['request', 'tokens', 'events', 'in-process p50 ms', 'remote p50 ms', 'remote / local', 'overhead per token (µs)'], rows),
  '',
  `Per event, server send → client receive (msgpack encode, loopback WebSocket, decode, zod check), story request: p50 ${percentile(eventLatency, 50).toFixed(3)} ms, p99 ${percentile(eventLatency, 99).toFixed(3)} ms (n=${eventLatency.length}). Target: per-token overhead ≤ 0.3 ms p50.`,
  ...(nats ? ['', nats] : ['', 'NATS throughput: not measured in this run (pass `--nats nats://…` with a nats-server running).']),
].join('\n');
console.log(body);
if (!values['no-write']) writeBenchmarkSection('Remote inference (bench:serve)', body);
