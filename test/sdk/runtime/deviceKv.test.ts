import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { lastValueFrom, toArray } from 'rxjs';
import { convertDecoder } from '../../../sdk/convert/convertDecoder.ts';
import type { GenerationEvent } from '../../../sdk/generation/GenerationEvent.ts';
import type { DecoderSpec } from '../../../sdk/model/ModelManifest.ts';
import { loadManifest } from '../../../sdk/model/loadManifest.ts';
import { DEFAULT_MODEL_DIR } from '../../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../../sdk/OnnxBackend.ts';
import { KvHolders } from '../../../sdk/runtime/DeviceKv.ts';
import { DecoderSession, releaseDecoder } from '../../../sdk/runtime/DecoderSession.ts';
import { collect } from '../../../sdk/tasks.ts';
import { renderLayout } from '../../../sim/render/renderLayout.ts';
import { makeTaskExample } from '../../../sim/tasks/taskExamples.ts';
import { writeTinyEmu3Checkpoint } from '../../kit/emu3Checkpoint.ts';
import { webgpu } from '../../support/webgpu.ts';

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

interface Graph {
  file: string;
  spec: DecoderSpec;
  vocab: number;
}

/**
 * Everything the engine does to a cache, on one graph: prefill, steps, a truncation, a fork that goes
 * its own way, a multi-row feed, then a guidance batch (feeds, a rollback, close) and each stream on
 * its own again. Returns every logits row, in order, and where the cache ended up.
 */
async function exercise(session: ort.InferenceSession, g: Graph) {
  const rows: Float32Array[] = [];
  const where: string[] = [];
  const keep = (...r: Float32Array[]) => rows.push(...r.map((x) => x.slice()));
  const a = new DecoderSession(session, g.spec, g.vocab);
  keep(await a.prefill([5, 17, 200, 33, 41, 9]));
  for (const id of [12, 250, 3]) keep(await a.step(id));
  where.push(a.kvLocation);
  a.truncate(7);
  keep(await a.step(99));
  where.push(a.kvLocation);
  const fork = a.clone();
  keep(await a.step(100), await fork.step(101), await fork.step(102), await a.step(103));
  keep(...(await a.feedAll([1, 2, 3])));
  a.truncate(9);
  a.truncate(8);
  keep(await a.step(7));
  const u = new DecoderSession(session, g.spec, g.vocab);
  keep(await u.prefill([7, 2, 91]));
  const pair = a.pairWith(u);
  assert.ok(pair, 'the graph batches the guidance streams');
  for (const op of [[30], [31, 32, 33, 34], 2, [35], 1, [36]] as const) {
    if (typeof op === 'number') pair.rollback(op);
    else {
      const r = await pair.feedAll(op);
      keep(...r.cond, ...r.uncond!);
    }
  }
  pair.close();
  keep(await a.step(40), await u.step(41));
  where.push(a.kvLocation, u.kvLocation, fork.kvLocation);
  return { rows, where, tokens: [a.tokens, u.tokens, fork.tokens] };
}

describe('the KV cache stays in GPU memory on WebGPU (DeviceKv)', function () {
  this.timeout(300_000);
  let dir: string;
  before(function () {
    const probe = webgpu();
    if ('missing' in probe) this.skip();
    dir = mkdtempSync(path.join(os.tmpdir(), 'emu-devicekv-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  const nano = async (): Promise<Graph> => {
    const { manifest: m } = await loadManifest(DEFAULT_MODEL_DIR);
    return { file: path.join(DEFAULT_MODEL_DIR, m.decoder.file), spec: m.decoder, vocab: m.vocab.size };
  };
  const converted = (kvCache: 'concat' | 'shared', dtype: 'float32' | 'float16') => async (): Promise<Graph> => {
    const ck = path.join(dir, `ck-${kvCache}-${dtype}`);
    writeTinyEmu3Checkpoint(ck, { seed: 4 });
    const r = convertDecoder({ from: ck, to: path.join(dir, `m-${kvCache}-${dtype}`), dtype, kvCache, manifest: null });
    return { file: r.decoderFile, spec: r.spec, vocab: r.config.vocab_size };
  };

  for (const [name, open] of [
    ['emu-nano (concat KV)', nano],
    ['emu convert decoder, shared KV (GroupQueryAttention), fp32', converted('shared', 'float32')],
    ['emu convert decoder, concat KV, fp16', converted('concat', 'float16')],
  ] as const) {
    it(`${name}: the cache is a GPU buffer after every kind of update, with the CPU's logits and tokens`, async () => {
      const g = await open();
      const cpu = await DecoderSession.openSession(g.file, g.spec, g.vocab, { threads: 1 });
      const gpu = await DecoderSession.openSession(g.file, g.spec, g.vocab, { threads: 1, device: 'webgpu' });
      try {
        const want = await exercise(cpu, g);
        const got = await exercise(gpu, g);
        assert.deepEqual(want.where, ['host', 'host', 'host', 'host', 'host']);
        assert.deepEqual(got.where, ['device', 'device', 'device', 'device', 'device'], 'steps, truncation, fork and the rows a batch hands back all stay on the GPU');
        assert.deepEqual(got.tokens, want.tokens);
        const tolerance = g.spec.dtype === 'float16' ? 3e-2 : 1e-3;
        assert.equal(got.rows.length, want.rows.length);
        want.rows.forEach((row, i) => {
          const d = maxDiff(got.rows[i]!, row);
          assert.ok(d < tolerance, `row ${i}: max |Δ| ${d} against the CPU`);
        });
      } finally {
        await Promise.all([releaseDecoder(cpu), releaseDecoder(gpu)]);
      }
    });
  }

  it('deviceKv: false keeps the cache on the host, as before (the comparison bench:memory runs)', async () => {
    const g = await nano();
    const gpu = await DecoderSession.openSession(g.file, g.spec, g.vocab, { threads: 1, device: 'webgpu', deviceKv: false });
    try {
      const a = new DecoderSession(gpu, g.spec, g.vocab);
      await a.prefill([5, 17, 200]);
      await a.step(9);
      assert.equal(a.kvLocation, 'host');
    } finally {
      await releaseDecoder(gpu);
    }
  });

  it('OnnxBackend on webgpu: guided t2i (batched guidance, Jacobi) and an explore session with a fork give the CPU tokens', async () => {
    const run = async (device: 'cpu' | 'webgpu') => {
      const backend = await OnnxBackend.load(DEFAULT_MODEL_DIR, { device, threads: 1 });
      try {
        assert.equal(backend.device, device);
        const events: GenerationEvent[] = await lastValueFrom(backend.generate({ task: 't2i', prompt: 'a red block on a blue block', seed: 7 }).pipe(toArray()));
        const done = events.at(-1) as Extract<GenerationEvent, { type: 'done' }>;
        const session = await backend.openSession({ task: 'explore', images: [renderLayout(makeTaskExample('explore', 'heldout', 3).inputs[0]!)], seed: 3, sampling: { maxNewTokens: 120 } });
        const steps: number[][] = [];
        const take = async (s: typeof session, command: string) => steps.push((await collect(s.step(command))).tokens);
        await take(session, 'look left');
        const fork = session.fork();
        await take(fork, 'look right');
        await take(session, 'look up');
        return { t2i: done.tokens, steps };
      } finally {
        await backend.close();
      }
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    assert.ok(cpu.t2i.length > 40, `t2i gave ${cpu.t2i.length} tokens`);
    assert.deepEqual(gpu.t2i, cpu.t2i);
    assert.deepEqual(gpu.steps, cpu.steps);
  });
});

describe('KvHolders: a fork shares its parent\'s GPU buffers; the last holder frees them', () => {
  it('disposes device tensors once, when the last holder lets go; host tensors are left to the GC', () => {
    const disposed: string[] = [];
    const t = (name: string, location: 'gpu-buffer' | 'cpu') => ({ location, dispose: () => disposed.push(name) }) as unknown as ort.Tensor;
    const past = { k: t('k', 'gpu-buffer'), v: t('v', 'gpu-buffer'), h: t('h', 'cpu') };
    const holders = new KvHolders();
    holders.share();
    holders.release(past);
    assert.deepEqual(disposed, [], 'the fork still holds them');
    holders.release(past);
    assert.deepEqual(disposed, ['k', 'v']);
  });
});
