import assert from 'node:assert/strict';
import type * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../sdk/model/ModelManifest.ts';
import { buildTinyModel, type TinyModelOptions } from './buildTinyModel.ts';
import { argmax, decode, emptyCache, maxAbsDiff, openSession, std, tempDir } from './testUtils.ts';

const IDS = [280, 104, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100];

async function tinyDecoder(dir: string, options: TinyModelOptions = {}): Promise<{ session: ort.InferenceSession; manifest: ModelManifest }> {
  const { manifest } = await buildTinyModel(dir, options);
  return { session: await openSession(dir, manifest.decoder.file), manifest };
}

/** Logits of prefill(ids[0..split)) then one token at a time, concatenated like a full run's. */
async function incremental(session: ort.InferenceSession, manifest: ModelManifest, ids: number[], split: number): Promise<Float32Array> {
  const V = manifest.vocab.size;
  const out = new Float32Array(ids.length * V);
  let step = await decode(session, manifest, ids.slice(0, split), emptyCache(manifest));
  out.set(step.logits, 0);
  for (let j = split; j < ids.length; j++) {
    step = await decode(session, manifest, [ids[j]!], step.cache);
    out.set(step.logits, j * V);
  }
  return out;
}

describe('tiny decoder graph', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('follows the I/O contract: names, logits [1,S,V], present [1,kvHeads,P+S,headDim]', async () => {
    const { session, manifest } = await tinyDecoder(dir, { layers: 3, kvHeads: 2, headDim: 4 });
    assert.deepEqual(session.inputNames, [
      'input_ids', 'attention_mask', 'position_ids',
      ...[0, 1, 2].flatMap((i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]),
    ]);
    assert.deepEqual(session.outputNames, ['logits', ...[0, 1, 2].flatMap((i) => [`present.${i}.key`, `present.${i}.value`])]);
    const first = await decode(session, manifest, IDS.slice(0, 5), emptyCache(manifest));
    assert.deepEqual(first.dims, [1, 5, manifest.vocab.size]);
    const second = await decode(session, manifest, IDS.slice(5, 7), first.cache);
    assert.deepEqual(second.dims, [1, 2, manifest.vocab.size]);
    assert.deepEqual(second.cache.tensors['past_key_values.2.value']!.dims, [1, 2, 7, 4]);
  });

  for (const [label, options] of [
    ['multi-head (kvHeads = queryHeads)', { kvHeads: 2, queryHeads: 2 }],
    ['GQA (kvHeads < queryHeads)', { kvHeads: 1, queryHeads: 4 }],
    ['default', {}],
  ] as const) {
    it(`decodes with the KV cache exactly like a full recompute: ${label}`, async () => {
      const { session, manifest } = await tinyDecoder(dir, { ...options, seed: 3 });
      const full = (await decode(session, manifest, IDS, emptyCache(manifest))).logits;
      for (const split of [1, 5]) {
        assert.ok(maxAbsDiff(await incremental(session, manifest, IDS, split), full) < 1e-4, `split ${split}`);
      }
    });
  }

  it('makes logits depend on earlier tokens and on positions, with a spread of std 1–3', async () => {
    const { session, manifest } = await tinyDecoder(dir);
    const V = manifest.vocab.size;
    const last = (l: Float32Array) => l.subarray(l.length - V);
    const base = (await decode(session, manifest, IDS, emptyCache(manifest))).logits;
    const changedFirst = (await decode(session, manifest, [281, ...IDS.slice(1)], emptyCache(manifest))).logits;
    assert.ok(maxAbsDiff(last(base), last(changedFirst)) > 1e-2);
    const shifted = (await decode(session, manifest, IDS, emptyCache(manifest), IDS.map((_, j) => j + 10))).logits;
    assert.ok(maxAbsDiff(last(base), last(shifted)) > 1e-2);
    const s = std(last(base));
    assert.ok(s > 1 && s < 3, `std ${s}`);
  });

  it('adds logitBias to the named logits only', async () => {
    const plain = await tinyDecoder(`${dir}/plain`, { seed: 5 });
    const eos = plain.manifest.vocab.ids.eos;
    const biased = await tinyDecoder(`${dir}/biased`, { seed: 5, logitBias: { [eos]: 30 } });
    const a = (await decode(plain.session, plain.manifest, IDS, emptyCache(plain.manifest))).logits;
    const b = (await decode(biased.session, biased.manifest, IDS, emptyCache(biased.manifest))).logits;
    const V = plain.manifest.vocab.size;
    for (let j = 0; j < IDS.length; j++) {
      const row = b.subarray(j * V, (j + 1) * V);
      assert.equal(argmax(row), eos);
      assert.ok(Math.abs(row[eos]! - a[j * V + eos]! - 30) < 1e-4);
      assert.equal(row[eos - 1], a[j * V + eos - 1]);
    }
  });
});
