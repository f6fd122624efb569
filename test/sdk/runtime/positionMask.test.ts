import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { convertDecoder } from '../../../sdk/convert/convertDecoder.ts';
import type { DecoderSpec } from '../../../sdk/model/ModelManifest.ts';
import { DecoderSession } from '../../../sdk/runtime/DecoderSession.ts';
import { buildTinyModel } from '../../kit/index.ts';
import { writeTinyEmu3Checkpoint } from '../../kit/emu3Checkpoint.ts';

const PROMPT = [5, 17, 200, 33, 41, 9];
const T = [60, 61, 62, 63, 64, 65];
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

interface Opened {
  session: ort.InferenceSession;
  spec: DecoderSpec;
  vocab: number;
}

/**
 * Feeds T out of raster order, each at its raster position: [t0, t2] then [t1, t3] then [t5, t4].
 * Returns the logits of each id, by raster index, and which of them saw their complete raster prefix.
 */
async function outOfOrder(lm: DecoderSession, pair?: { feedAll: DecoderSession['feedAll'] }): Promise<Map<number, Float32Array>> {
  const feed = pair ?? lm;
  const rows = new Map<number, Float32Array>();
  const put = async (raster: number[], offsets: number[]) => {
    const out = await feed.feedAll(raster.map((k) => T[k]!), undefined, offsets);
    raster.forEach((k, i) => rows.set(k, out[i]!.slice()));
  };
  await put([0, 2], [0, 2]); // slots P, P+1 hold positions P, P+2
  await put([1, 3], [-1, 1]); // slots P+2, P+3 hold P+1, P+3
  await put([5, 4], [1, 0]); // slots P+4, P+5 hold P+5, P+4
  return rows;
}

describe('the per-query position mask (decoder io.keyPositions)', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'emu-posmask-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const tiny = async (keyPositions: boolean): Promise<Opened> => {
    const m = await buildTinyModel(path.join(dir, `tiny-${keyPositions}`), { seed: 3, keyPositions });
    const spec = m.manifest.decoder;
    return { session: await DecoderSession.openSession(path.join(m.dir, spec.file), spec, m.manifest.vocab.size), spec, vocab: m.manifest.vocab.size };
  };
  const converted = async (): Promise<Opened> => {
    const ck = path.join(dir, 'ck');
    writeTinyEmu3Checkpoint(ck, { seed: 2 });
    const r = convertDecoder({ from: ck, to: path.join(dir, 'conv'), kvCache: 'concat', manifest: null });
    assert.equal(r.spec.io.keyPositions, 'key_positions', 'the converter names the input (concat layout)');
    return { session: await DecoderSession.openSession(r.decoderFile, r.spec, r.config.vocab_size, { threads: 1 }), spec: r.spec, vocab: r.config.vocab_size };
  };

  for (const [name, open] of [['the tiny test decoder', () => tiny(true)], ['emu convert decoder (concat)', converted]] as const) {
    it(`${name}: ids fed out of order at their positions get exactly the in-order logits wherever their raster prefix is complete`, async () => {
      const { session, spec, vocab } = await open();
      try {
        const inOrder = new DecoderSession(session, spec, vocab);
        assert.ok(inOrder.positionMask);
        await inOrder.prefill(PROMPT);
        const want = (await inOrder.feedAll(T)).map((r) => r.slice());
        const lm = new DecoderSession(session, spec, vocab);
        await lm.prefill(PROMPT);
        const got = await outOfOrder(lm);
        // t1 was fed after t2 yet attends exactly as in order (t2, at a later position, is masked from it);
        // t0 comes first either way. t2 was fed before t1 existed, so it saw less: ZipAR's approximation,
        // which reaches every id that attends to t2 afterwards (its keys at deeper layers differ).
        for (const k of [0, 1]) assert.ok(maxDiff(got.get(k)!, want[k]!) < 1e-4, `t${k}: max |Δ| ${maxDiff(got.get(k)!, want[k]!)}`);
        assert.ok(maxDiff(got.get(2)!, want[2]!) > 1e-3, 't2 saw less');
        // Slot positions survive a rollback, a clone and a batched pair: the same history fed three ways agrees.
        const twin = new DecoderSession(session, spec, vocab);
        await twin.prefill(PROMPT);
        await outOfOrder(twin);
        await lm.feedAll([70, 71], undefined, [1, 0]);
        lm.truncate(lm.length - 2);
        const u = new DecoderSession(session, spec, vocab);
        await u.prefill([7, 2]);
        const uTwin = u.clone();
        const pair = lm.pairWith(u)!;
        const batched = await pair.feedAll([71, 72], undefined, [1, 0]);
        const alone = await twin.feedAll([71, 72], undefined, [1, 0]);
        const aloneU = await uTwin.feedAll([71, 72], undefined, [1, 0]);
        for (const i of [0, 1]) {
          assert.ok(maxDiff(batched.cond[i]!, alone[i]!) < 1e-4, `batched cond row ${i}, position-masked`);
          assert.ok(maxDiff(batched.uncond![i]!, aloneU[i]!) < 1e-4, `batched uncond row ${i}, position-masked`);
        }
        pair.close();
        for (const [x, y] of [[lm, twin], [u, uTwin]] as const) {
          const [c, d] = [await x.feed([73]), await y.feed([73])];
          assert.ok(maxDiff(c, d) < 1e-4, `after the batch: max |Δ| ${maxDiff(c, d)}`);
        }
      } finally {
        await session.release();
      }
    });
  }

  it('without key_positions the same out-of-order feed leaks: t1 sees t2, fed before it (why ZipAR needs the input)', async () => {
    const { session, spec, vocab } = await tiny(false);
    try {
      const inOrder = new DecoderSession(session, spec, vocab);
      assert.equal(inOrder.positionMask, false);
      await inOrder.prefill(PROMPT);
      const want = (await inOrder.feedAll(T)).map((r) => r.slice());
      const lm = new DecoderSession(session, spec, vocab);
      await lm.prefill(PROMPT);
      const got = await outOfOrder(lm);
      assert.ok(maxDiff(got.get(0)!, want[0]!) < 1e-4, 't0 is first either way');
      assert.ok(maxDiff(got.get(1)!, want[1]!) > 1e-3, 't1 attended to t2');
    } finally {
      await session.release();
    }
  });
});
