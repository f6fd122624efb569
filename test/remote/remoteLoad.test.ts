import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import type { GenerationEvent } from '../../sdk/generation/GenerationEvent.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { EmuServer } from '../../sdk/remote/EmuServer.ts';
import { RemoteBackend } from '../../sdk/remote/RemoteBackend.ts';
import { localEngine } from '../../sdk/remote/serveRequest.ts';

describe('remote inference under load (loopback, emu-nano)', function () {
  this.timeout(120_000);

  it('50 concurrent clients: every request served once, no lost or duplicated events, queue positions only fall, memory bounded', async () => {
    const local = await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 1 });
    const server = await EmuServer.start({ engine: localEngine(local, { limits: { maxQueue: 64 } }), port: 0 });
    const clients: RemoteBackend[] = [];
    try {
      const request = (i: number) => ({ task: 't2i' as const, prompt: `a block number ${i % 5}`, seed: 100 + (i % 5), sampling: { maxNewTokens: 80 } });
      // The reference: the same five requests in-process.
      const reference = await Promise.all([0, 1, 2, 3, 4].map((i) => lastValueFrom(local.generate(request(i)).pipe(toArray()))));
      for (let i = 0; i < 50; i++) clients.push(await RemoteBackend.connect(server.url));
      const rssBefore = process.memoryUsage().rss;
      let peakQueue = 0;
      const sampler = setInterval(() => (peakQueue = Math.max(peakQueue, server.engine.status().queued)), 5);
      const started = performance.now();
      const positions: number[][] = clients.map(() => []);
      const results = await Promise.all(
        clients.map((c, i) => lastValueFrom(c.generate(request(i), { onQueued: (p: number) => positions[i]!.push(p) } as never).pipe(toArray()))),
      );
      clearInterval(sampler);
      const elapsed = performance.now() - started;
      const rssGrowth = process.memoryUsage().rss - rssBefore;

      results.forEach((events: GenerationEvent[], i) => {
        const ref = reference[i % 5]!;
        assert.deepEqual(events.map((e) => e.type), ref.map((e) => e.type), `client ${i}: the same event sequence`);
        assert.equal(events.filter((e) => e.type === 'done').length, 1);
        assert.deepEqual((events.at(-1) as { tokens: number[] }).tokens, (ref.at(-1) as { tokens: number[] }).tokens, `client ${i}: the same tokens`);
        const p = positions[i]!;
        for (let k = 1; k < p.length; k++) assert.ok(p[k]! < p[k - 1]!, `client ${i}: positions fall ${p}`);
      });
      assert.ok(peakQueue >= 40, `the queue filled up (peak ${peakQueue})`);
      assert.ok(positions.filter((p) => p.length > 0).length >= 40, 'queued clients heard their positions');
      assert.ok(elapsed < 60_000, `served in ${elapsed.toFixed(0)} ms`);
      assert.ok(rssGrowth < 200 * 1024 * 1024, `memory grew ${(rssGrowth / 1e6).toFixed(0)} MB`);
      assert.equal(server.engine.status().queued, 0);
      assert.equal(server.connections, 50);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      await local.close();
    }
  });
});
