import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../sdk/model/ModelManifest.ts';
import { buildTinyModel, DEFAULT_EMU35_RANKS, type TinyModelOptions } from './buildTinyModel.ts';
import { flatColourPalette } from './tinyVisionGraphs.ts';
import { SeededRandom } from './seededRandom.ts';
import { openSession, tempDir } from './testUtils.ts';

interface Vision {
  manifest: ModelManifest;
  encode(pixels: Float32Array, dims: number[]): Promise<ort.Tensor>;
  decode(codes: number[], dims: number[]): Promise<ort.Tensor>;
}

async function tinyVision(dir: string, options: TinyModelOptions = {}): Promise<Vision> {
  const { manifest } = await buildTinyModel(dir, options);
  const enc = await openSession(dir, manifest.vision.encoder);
  const dec = await openSession(dir, manifest.vision.decoder);
  const io = manifest.vision.io;
  return {
    manifest,
    encode: async (pixels, dims) => (await enc.run({ [io.encoderInput]: new ort.Tensor('float32', pixels, dims) }))[io.encoderOutput]!,
    decode: async (codes, dims) => (await dec.run({ [io.decoderInput]: new ort.Tensor('int64', BigInt64Array.from(codes, BigInt), dims) }))[io.decoderOutput]!,
  };
}

/** What an image goes through between decode and re-encode: uint8 pixels, then the manifest's normalisation. */
function viaUint8(x: Float32Array): Float32Array {
  return x.map((v) => Math.min(255, Math.max(0, Math.round((v + 1) * 127.5))) / 127.5 - 1);
}

describe('tiny vision tokenizer graphs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('gives every code a distinct flat colour in [-1, 1]', () => {
    const palette = flatColourPalette(64);
    const keys = new Set<string>();
    for (let k = 0; k < 64; k++) keys.add(Array.from(palette.subarray(3 * k, 3 * k + 3)).join());
    assert.equal(keys.size, 64);
    assert.ok(palette.every((v) => v >= -1 && v <= 1));
  });

  it('maps [B,3,H,W] to codes [B,H/f,W/f] and back to [B,3,h·f,w·f] flat patches', async () => {
    const v = await tinyVision(dir, { downsample: 4 });
    const codes = await v.encode(new Float32Array(2 * 3 * 8 * 12).fill(0.25), [2, 3, 8, 12]);
    assert.equal(codes.type, 'int64');
    assert.deepEqual(codes.dims, [2, 2, 3]);
    const pixels = await v.decode([0, 5, 63, 7, 7, 1], [1, 2, 3]);
    assert.deepEqual(pixels.dims, [1, 3, 8, 12]);
    const data = pixels.data as Float32Array;
    const palette = flatColourPalette(64);
    // pixel (row 5, col 9) lies in patch (1, 2), code 1; channel 2 plane starts at 2·8·12
    assert.equal(data[2 * 96 + 5 * 12 + 9], palette[3 * 1 + 2]);
  });

  it('round-trips codes exactly: encode(decode(codes)) == codes, also through uint8 pixels', async () => {
    const v = await tinyVision(dir, { codebookSize: 100 });
    const rng = new SeededRandom(11);
    const codes = Array.from({ length: 2 * 3 * 4 }, () => rng.int(0, 100));
    codes[0] = 0;
    codes[1] = 99;
    const pixels = await v.decode(codes, [2, 3, 4]);
    const direct = await v.encode(pixels.data as Float32Array, [...pixels.dims]);
    assert.deepEqual(Array.from(direct.data as BigInt64Array, Number), codes);
    const quantised = await v.encode(viaUint8(pixels.data as Float32Array), [...pixels.dims]);
    assert.deepEqual(Array.from(quantised.data as BigInt64Array, Number), codes);
  });

  it('encodes a patch to its nearest palette colour', async () => {
    const v = await tinyVision(dir, { downsample: 2 });
    const palette = flatColourPalette(64);
    const k = 42;
    const pixels = new Float32Array(3 * 2 * 2);
    for (let c = 0; c < 3; c++) pixels.fill(palette[3 * k + c]! + 0.05, c * 4, c * 4 + 4);
    const codes = await v.encode(pixels, [1, 3, 2, 2]);
    assert.deepEqual(Array.from(codes.data as BigInt64Array, Number), [k]);
  });

  const emu35 = existsSync(DEFAULT_EMU35_RANKS) ? it : it.skip;
  emu35('round-trips on the 131,072-code Emu3.5 codebook', async () => {
    const v = await tinyVision(dir, { vocab: 'emu35' });
    const codes = [0, 131071, 65536, 4242];
    const pixels = await v.decode(codes, [1, 2, 2]);
    const back = await v.encode(viaUint8(pixels.data as Float32Array), [...pixels.dims]);
    assert.deepEqual(Array.from(back.data as BigInt64Array, Number), codes);
  });
});
