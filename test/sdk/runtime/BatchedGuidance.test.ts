import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { convertDecoder } from '../../../sdk/convert/convertDecoder.ts';
import type { DecoderSpec } from '../../../sdk/model/ModelManifest.ts';
import { loadManifest } from '../../../sdk/model/loadManifest.ts';
import { DEFAULT_MODEL_DIR } from '../../../sdk/model/defaultModel.ts';
import { BatchedGuidance } from '../../../sdk/runtime/BatchedGuidance.ts';
import { DecoderSession } from '../../../sdk/runtime/DecoderSession.ts';
import { buildTinyModel } from '../../kit/index.ts';
import { writeTinyEmu3Checkpoint } from '../../kit/emu3Checkpoint.ts';

const COND = [5, 17, 200, 33, 41, 9, 12, 250, 3];
const UNCOND = [7, 2, 91, 11];
/** The span: feeds of 1 and 4 ids, a rollback of 2, then more (a Jacobi-like pattern). */
const SPAN: ({ feed: number[] } | { rollback: number })[] = [{ feed: [30] }, { feed: [31, 32, 33, 34] }, { rollback: 2 }, { feed: [35] }, { feed: [36, 37, 38] }, { rollback: 1 }, { feed: [39] }];
const AFTER = [40, 41];

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

interface Graph {
  name: string;
  open(): Promise<{ session: ort.InferenceSession; spec: DecoderSpec; vocab: number }>;
}

describe('batched guidance: both streams as one batch-2 forward (BatchedGuidance)', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'emu-batched-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const converted = (kvCache: 'concat' | 'shared', dtype: 'float32' | 'float16'): Graph => ({
    name: `emu convert decoder (${kvCache} KV, ${dtype})`,
    async open() {
      const ck = path.join(dir, `ck-${kvCache}-${dtype}`);
      writeTinyEmu3Checkpoint(ck, { seed: 4 });
      const r = convertDecoder({ from: ck, to: path.join(dir, `m-${kvCache}-${dtype}`), dtype, kvCache, manifest: null });
      return { session: await DecoderSession.openSession(r.decoderFile, r.spec, r.config.vocab_size, { threads: 1 }), spec: r.spec, vocab: r.config.vocab_size };
    },
  });
  const graphs: Graph[] = [
    {
      name: 'the tiny test decoder',
      async open() {
        const m = await buildTinyModel(path.join(dir, 'tiny'), { seed: 3 });
        const spec = m.manifest.decoder;
        return { session: await DecoderSession.openSession(path.join(m.dir, spec.file), spec, m.manifest.vocab.size), spec, vocab: m.manifest.vocab.size };
      },
    },
    {
      name: 'the shipped emu-nano (torch export)',
      async open() {
        const { manifest: m } = await loadManifest(DEFAULT_MODEL_DIR);
        const spec = m.decoder;
        return { session: await DecoderSession.openSession(path.join(DEFAULT_MODEL_DIR, spec.file), spec, m.vocab.size, { threads: 1 }), spec, vocab: m.vocab.size };
      },
    },
    converted('concat', 'float32'),
    converted('shared', 'float32'),
    converted('shared', 'float16'),
  ];

  for (const graph of graphs) {
    it(`${graph.name}: the same logits as two separate streams, exact rollback, and each stream's own cache after close`, async () => {
      const { session, spec, vocab } = await graph.open();
      const tolerance = spec.dtype === 'float16' ? 2e-2 : 1e-4;
      try {
        const make = async () => {
          const cond = new DecoderSession(session, spec, vocab);
          const uncond = new DecoderSession(session, spec, vocab);
          await cond.prefill(COND);
          await uncond.prefill(UNCOND);
          return { cond, uncond };
        };
        const ref = await make();
        const bat = await make();
        const pair = bat.cond.pairWith(bat.uncond);
        assert.ok(pair instanceof BatchedGuidance, 'the graph batches');
        const passes = [bat.cond.forwardPasses, bat.uncond.forwardPasses];
        let feeds = 0; // feeds run
        for (const op of SPAN) {
          if ('rollback' in op) {
            pair.rollback(op.rollback);
            for (const lm of [ref.cond, ref.uncond]) lm.truncate(lm.length - op.rollback);
            continue;
          }
          feeds++;
          const got = await pair.feedAll(op.feed);
          const want = { cond: (await ref.cond.feedAll(op.feed)).map((r) => r.slice()), uncond: (await ref.uncond.feedAll(op.feed)).map((r) => r.slice()) };
          for (const stream of ['cond', 'uncond'] as const) {
            want[stream].forEach((row, i) => {
              const d = maxDiff(got[stream]![i]!, row);
              assert.ok(d < tolerance, `${stream} row ${i} of [${op.feed}]: max |Δ| ${d}`);
            });
          }
        }
        // One pass per batched feed, counted on cond; the shared layout runs a multi-id feed as a pass per row.
        const rowwise = spec.kvCache === 'shared' ? SPAN.filter((op) => 'feed' in op && op.feed.length > 1).length : 0;
        assert.deepEqual([bat.cond.forwardPasses - passes[0]!, bat.uncond.forwardPasses - passes[1]!], [feeds, rowwise]);
        assert.equal(pair.passesFor(4), spec.kvCache === 'shared' ? 2 : 1);
        pair.close();
        pair.close();
        assert.throws(() => pair.rollback(0), /closed/);
        for (const stream of ['cond', 'uncond'] as const) {
          assert.deepEqual(bat[stream].tokens, ref[stream].tokens, `${stream} tokens`);
          assert.equal(bat[stream].length, ref[stream].length);
          // After the span each stream goes on alone from its own cache.
          const a = await bat[stream].feed(AFTER);
          const b = await ref[stream].feed(AFTER);
          assert.ok(maxDiff(a, b) < tolerance, `${stream} after close: max |Δ| ${maxDiff(a, b)}`);
        }
      } finally {
        await session.release();
      }
    });
  }

  it('is refused across different graphs, for one stream paired with itself, and a rollback past the span', async () => {
    const m = await buildTinyModel(path.join(dir, 'tiny2'), { seed: 5 });
    const spec = m.manifest.decoder;
    const file = path.join(m.dir, spec.file);
    const [s1, s2] = [await DecoderSession.openSession(file, spec, m.manifest.vocab.size), await DecoderSession.openSession(file, spec, m.manifest.vocab.size)];
    const a = new DecoderSession(s1, spec, m.manifest.vocab.size);
    assert.equal(a.pairWith(new DecoderSession(s2, spec, m.manifest.vocab.size)), undefined);
    assert.equal(a.pairWith(a), undefined);
    await a.prefill([1, 2, 3]);
    const b = new DecoderSession(s1, spec, m.manifest.vocab.size);
    await b.prefill([4]);
    const pair = a.pairWith(b)!;
    await pair.feedAll([5, 6]);
    assert.throws(() => pair.rollback(3), /cannot roll back 3/);
    pair.close();
    assert.deepEqual([a.tokens, b.tokens], [[1, 2, 3, 5, 6], [4, 5, 6]]);
    await Promise.all([s1.release(), s2.release()]);
  });
});
