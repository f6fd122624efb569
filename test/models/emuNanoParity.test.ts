import assert from 'node:assert/strict';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { TiktokenTokenizer } from '../../sdk/tokenizer/TiktokenTokenizer.ts';
import { buildPrompts } from '../../sdk/prompt/buildPrompts.ts';
import type { TaskName } from '../../sdk/model/ModelManifest.ts';
import { perceiveLayout } from '../../sim/perception/perceiveLayout.ts';
import { layoutAgreement } from '../../sim/perception/layoutAgreement.ts';
import { psnr } from '../../sim/perception/psnr.ts';
import type { Layout } from '../../sim/world/Layout.ts';
import { NANO_DIR, loadNanoManifest, loadNanoParity, type DecoderTrace } from './emuNanoModel.ts';

const m = loadNanoManifest();
const fx = loadNanoParity();

function ids(a: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(a, BigInt), [1, a.length]);
}

function topValues(row: Float32Array, k: number): number[] {
  return [...row].sort((a, b) => b - a).slice(0, k);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tol, `${what}[${i}]: ${a} vs ${expected[i]}`));
}

/** Prefill from an empty (P=0) past, then greedy steps one token at a time through the KV cache. */
async function runTrace(s: ort.InferenceSession, t: DecoderTrace) {
  const { numLayers, numKvHeads, headDim, io } = m.decoder;
  let past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < numLayers; i++) {
    for (const n of [io.pastKey, io.pastValue]) past[n.replace('{i}', String(i))] = new ort.Tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headDim]);
  }
  const step = async (tokens: number[], start: number) => {
    const out = await s.run({
      [io.inputIds]: ids(tokens),
      [io.attentionMask]: ids(new Array<number>(start + tokens.length).fill(1)),
      [io.positionIds]: ids(tokens.map((_, i) => start + i)),
      ...past,
    });
    past = {};
    for (let i = 0; i < numLayers; i++) {
      past[io.pastKey.replace('{i}', String(i))] = out[io.presentKey.replace('{i}', String(i))]!;
      past[io.pastValue.replace('{i}', String(i))] = out[io.presentValue.replace('{i}', String(i))]!;
    }
    const logits = out[io.logits]!;
    const v = logits.dims[2]!;
    assert.deepEqual(past[io.pastKey.replace('{i}', '0')]!.dims, [1, numKvHeads, start + tokens.length, headDim]);
    return (logits.data as Float32Array).slice((tokens.length - 1) * v, tokens.length * v);
  };
  const first = await step(t.prompt, 0);
  const greedy: number[] = [];
  const stepTops: number[][] = [];
  let tok = argmax(first);
  let n = t.prompt.length;
  for (let i = 0; i < t.greedy.length; i++) {
    greedy.push(tok);
    const row = await step([tok], n++);
    stepTops.push(topValues(row, 3));
    tok = argmax(row);
  }
  return { first, greedy, stepTops };
}

async function decodePng(b64: string): Promise<RgbImage> {
  const { data, info } = await sharp(Buffer.from(b64, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

describe('models/emu-nano parity with the python reference', () => {
  it('encodes the fixture texts to the python ids through the TS tokenizer', async () => {
    const tok = await TiktokenTokenizer.fromManifest(m, NANO_DIR);
    assert.ok(fx.tokenizer.length >= 8);
    for (const { text, ids: want } of fx.tokenizer) assert.deepEqual(tok.encode(text), want, JSON.stringify(text));
  });

  it('builds the training prompts exactly as the SDK prompt builder does', async () => {
    const tok = await TiktokenTokenizer.fromManifest(m, NANO_DIR);
    for (const t of fx.decoder) {
      assert.deepEqual(tok.encode(t.text), t.prompt, `${t.task} prompt text`);
      const images = t.images.map((g) => ({ rows: g.length, cols: g[0]!.length, codes: g.flat() }));
      const { cond, uncond } = buildPrompts({ manifest: m, tokenizer: tok, task: t.task as TaskName, question: t.question, images });
      assert.deepEqual(cond, t.prompt, `${t.task} buildPrompts`);
      assert.deepEqual(uncond, t.uncondPrompt, `${t.task} unconditional prompt (classifier-free guidance)`);
    }
  });

  it('matches torch logits (1e-4) and greedy tokens with a KV cache starting from an empty past', async () => {
    const s = await ort.InferenceSession.create(path.join(NANO_DIR, m.decoder.file));
    assert.ok(fx.decoder.length >= 3);
    for (const t of fx.decoder) {
      const { first, greedy, stepTops } = await runTrace(s, t);
      assert.equal(argmax(first), t.prefillArgmax, `${t.task} prefill argmax`);
      assertClose(t.prefillTopIds.map((i) => first[i]!), t.prefillTopValues, fx.tolerance, `${t.task} prefill`);
      assert.deepEqual(greedy, t.greedy, `${t.task} greedy tokens`);
      stepTops.forEach((row, i) => assertClose(row, t.stepTopValues[i]!, fx.tolerance, `${t.task} step ${i}`));
    }
    await s.release();
  });

  it('round-trips held-out frames through the ONNX vision tokenizer (codes, PSNR >= 28 dB, layout)', async () => {
    const enc = await ort.InferenceSession.create(path.join(NANO_DIR, m.vision.encoder));
    const dec = await ort.InferenceSession.create(path.join(NANO_DIR, m.vision.decoder));
    const { scale, shift } = m.vision.normalize;
    assert.ok(fx.vision.length >= 1);
    for (const v of fx.vision) {
      const img = await decodePng(v.png);
      const { width: w, height: h } = img;
      const chw = new Float32Array(3 * h * w);
      for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) chw[c * h * w + i] = img.data[i * 3 + c]! / scale - shift;
      const codes = (await enc.run({ pixel_values: new ort.Tensor('float32', chw, [1, 3, h, w]) })).codes!;
      assert.deepEqual(codes.dims, [1, h / 16, w / 16]);
      assert.deepEqual([...(codes.data as BigInt64Array)].map(Number), v.codes.flat(), `${v.id} codes`);
      const px = (await dec.run({ codes })).pixel_values!.data as Float32Array;
      const out = new Uint8Array(3 * h * w);
      for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round((px[c * h * w + i]! + shift) * scale)));
      const back: RgbImage = { width: w, height: h, data: out };
      assert.ok(psnr(img, back) >= 28, `${v.id} PSNR ${psnr(img, back)}`);
      assert.equal(layoutAgreement(perceiveLayout(back), v.layout as Layout), 1, `${v.id} layout`);
    }
    await enc.release();
    await dec.release();
  });
});
