import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ModelError } from '../../../sdk/errors.ts';
import { createSession } from '../../../sdk/runtime/createSession.ts';
import { DecoderSession, PREFILL_CHUNK } from '../../../sdk/runtime/DecoderSession.ts';
import { buildTinyModel, type TinyModel } from '../../kit/index.ts';

describe('runtime', () => {
  let dir: string;
  let model: TinyModel;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'emu-rt-'));
    model = await buildTinyModel(path.join(dir, 'm'), { seed: 3 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const open = () => DecoderSession.openSession(path.join(model.dir, model.manifest.decoder.file), model.manifest.decoder, model.manifest.vocab.size);

  it('KV-cached steps give the same logits as a full recompute', async () => {
    const session = await open();
    const ids = [5, 17, 200, 33, 41, 9, 12];
    const cached = new DecoderSession(session, model.manifest.decoder, model.manifest.vocab.size);
    const steps = [Array.from(await cached.prefill(ids.slice(0, 3)))];
    for (const id of ids.slice(3)) steps.push(Array.from(await cached.step(id)));
    assert.equal(cached.length, ids.length);
    assert.equal(cached.forwardPasses, 5);
    const fresh = new DecoderSession(session, model.manifest.decoder, model.manifest.vocab.size);
    for (let n = 3; n <= ids.length; n++) {
      const full = await fresh.prefill(ids.slice(0, n));
      const got = steps[n - 3]!;
      const maxDiff = Math.max(...Array.from(full, (x, i) => Math.abs(x - got[i]!)));
      assert.ok(maxDiff < 1e-4, `position ${n}: max |Δ| = ${maxDiff}`);
    }
    // two sessions sharing one ORT graph keep separate caches
    assert.notDeepEqual(steps[0], Array.from(await fresh.prefill([1, 2, 3])));
    await session.release();
  });

  it(`a prompt over ${PREFILL_CHUNK} tokens is fed in chunks: one pass per chunk, the same logits as two arbitrary pieces`, async () => {
    const session = await open();
    const ids = Array.from({ length: 2 * PREFILL_CHUNK + 37 }, (_, i) => (i * 31 + 7) % model.manifest.vocab.size);
    const whole = new DecoderSession(session, model.manifest.decoder, model.manifest.vocab.size);
    const a = Array.from(await whole.prefill(ids));
    assert.equal(whole.forwardPasses, 3);
    assert.equal(whole.length, ids.length);
    const pieces = new DecoderSession(session, model.manifest.decoder, model.manifest.vocab.size);
    await pieces.prefill(ids.slice(0, 300));
    const b = Array.from(await pieces.feed(ids.slice(300)));
    const maxDiff = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
    assert.ok(maxDiff < 1e-4, `max |Δ| ${maxDiff}`);
    await session.release();
  });

  it('feedAll returns every position in one pass, and a rollback (truncate) continues exactly as a recompute', async () => {
    const session = await open();
    const spec = model.manifest.decoder;
    const v = model.manifest.vocab.size;
    const lm = new DecoderSession(session, spec, v);
    await lm.prefill([5, 17, 200]);
    const rows = (await lm.feedAll([33, 41, 9, 12])).map((r) => Array.from(r));
    assert.equal(lm.forwardPasses, 2);
    assert.equal(lm.length, 7);
    const fresh = new DecoderSession(session, spec, v);
    const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
      const d = Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));
      assert.ok(d < 1e-4, `${what}: max |Δ| = ${d}`);
    };
    for (let i = 0; i < 4; i++) close(rows[i]!, await fresh.prefill([5, 17, 200, 33, 41, 9, 12].slice(0, 4 + i)), `row ${i}`);
    // Reject the last two drafts, take another token: the same as if they had never been fed.
    lm.truncate(5);
    const after = Array.from(await lm.feed([77]));
    close(after, await fresh.prefill([5, 17, 200, 33, 41, 77]), 'after rollback');
    assert.deepEqual(lm.tokens, [5, 17, 200, 33, 41, 77]);
    await session.release();
  });

  it('missing file → ModelError model_missing', async () => {
    await assert.rejects(createSession(path.join(dir, 'nope.onnx')), (e: unknown) => e instanceof ModelError && e.code === 'model_missing' && /nope\.onnx/.test(e.message));
  });

  it('a graph that does not match the manifest → ModelError model_mismatch naming what differs', async () => {
    const p = path.join(model.dir, model.manifest.decoder.file);
    const wrongLayers = { ...model.manifest.decoder, numLayers: 3 };
    await assert.rejects(DecoderSession.openSession(p, wrongLayers, model.manifest.vocab.size), (e: unknown) => e instanceof ModelError && e.code === 'model_mismatch' && /past_key_values\.2\.key/.test(e.message));
    const wrongHeads = { ...model.manifest.decoder, headDim: model.manifest.decoder.headDim + 1 };
    await assert.rejects(DecoderSession.openSession(p, wrongHeads, model.manifest.vocab.size), (e: unknown) => e instanceof ModelError && e.code === 'model_mismatch');
    const junk = path.join(dir, 'junk.onnx');
    await writeFile(junk, 'not onnx');
    await assert.rejects(createSession(junk), (e: unknown) => e instanceof ModelError && e.code === 'model_mismatch');
  });

  it('a GPU request without the provider falls back to CPU with one log line', async () => {
    const lines: string[] = [];
    const s = await createSession(path.join(model.dir, model.manifest.decoder.file), { device: 'cuda', log: (l) => lines.push(l) });
    assert.ok(s.inputNames.includes('input_ids'));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /cuda provider unavailable.*falling back to cpu/);
    await s.release();
  });
});
