import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { convertDecoder } from '../../../sdk/convert/convertDecoder.ts';
import type { TensorQuantRule } from '../../../sdk/convert/DecoderWeights.ts';
import type { GenerationEvent } from '../../../sdk/generation/GenerationEvent.ts';
import { DEFAULT_MODEL_DIR } from '../../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../../sdk/OnnxBackend.ts';
import { renderLayout } from '../../../sim/render/renderLayout.ts';
import { makeTaskExample } from '../../../sim/tasks/taskExamples.ts';
import { nanoShape, writeNanoAsEmu3Checkpoint } from '../../../training/nanoCheckpoint.ts';

type Done = Extract<GenerationEvent, { type: 'done' }>;
const done = async (backend: OnnxBackend, request: Parameters<OnnxBackend['generate']>[0]) =>
  (await lastValueFrom(backend.generate(request).pipe(toArray()))).at(-1) as Done;

/** The converted folder: the converter's decoder + manifest, the shipped vision graphs beside them. */
function convertedNano(root: string, variant: { dtype?: 'float32' | 'float16'; quant?: 'int8' | 'int4'; kvCache?: 'concat' | 'shared'; tensorQuant?: TensorQuantRule[] }, name?: string): string {
  const checkpoint = path.join(root, 'checkpoint');
  if (!existsSync(checkpoint)) writeNanoAsEmu3Checkpoint(path.join(DEFAULT_MODEL_DIR, 'decoder.onnx'), nanoShape(DEFAULT_MODEL_DIR), checkpoint);
  const to = path.join(root, name ?? `${variant.dtype ?? 'float32'}-${variant.quant ?? 'none'}${variant.kvCache === 'shared' ? '-shared' : ''}`);
  if (existsSync(path.join(to, 'emu-model.json'))) return to;
  convertDecoder({ from: checkpoint, to, ...variant, manifest: path.join(DEFAULT_MODEL_DIR, 'emu-model.json') });
  for (const f of ['vision_encoder.onnx', 'vision_decoder.onnx']) symlinkSync(path.resolve(DEFAULT_MODEL_DIR, f), path.join(to, f));
  return to;
}

describe('emu convert decoder on the shipped emu-nano (as an Emu3.5-format checkpoint)', function () {
  this.timeout(120_000);
  let root: string;
  let shipped: OnnxBackend;
  before(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'emu-nano-convert-'));
    shipped = await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 1 });
  });
  after(async () => {
    await shipped?.close();
    rmSync(root, { recursive: true, force: true });
  });

  for (const kvCache of ['concat', 'shared'] as const) {
    it(`fp32, ${kvCache} KV cache: the same tokens as the shipped decoder.onnx on held-out examples of every task`, async () => {
      const dir = convertedNano(root, { kvCache });
      const manifest = JSON.parse(readFileSync(path.join(dir, 'emu-model.json'), 'utf8'));
      assert.equal(manifest.decoder.io.logitsToKeep, 'logits_to_keep');
      assert.ok(existsSync(path.join(dir, 'nano.tiktoken')), 'the ranks file travels with the manifest');
      const converted = await OnnxBackend.load(dir, { threads: 1 });
      try {
        for (const task of ['t2i', 'x2i', 'howto', 'explore', 'vla'] as const) {
          for (const seed of [0, 1]) {
            const example = makeTaskExample(task, 'heldout', seed);
            const request = { task, prompt: example.instruction, images: example.inputs.map((l) => renderLayout(l)), seed };
            const [a, b] = [await done(shipped, request), await done(converted, request)];
            assert.ok(a.tokens.length > 10, `${task}/${seed}: generated something`);
            assert.deepEqual(b.tokens, a.tokens, `${task}/${seed}`);
          }
        }
      } finally {
        await converted.close();
      }
    });
  }

  it("shared KV + logits_to_keep: speculative Jacobi decoding gives the shipped greedy tokens (rollback is a length change there)", async () => {
    const dir = convertedNano(root, { kvCache: 'shared' });
    const converted = await OnnxBackend.load(dir, { threads: 1 });
    try {
      for (const task of ['t2i', 'x2i', 'vla'] as const) {
        const example = makeTaskExample(task, 'heldout', 5);
        const request = { task, prompt: example.instruction, images: example.inputs.map((l) => renderLayout(l)), seed: 5 };
        const a = await done(shipped, { ...request, sampling: { image: { parallel: 'none' } } });
        const b = await done(converted, { ...request, sampling: { image: { parallel: 'jacobi', draftWindow: 16 } } });
        assert.deepEqual(b.tokens, a.tokens, task);
        assert.ok(b.usage.forwardPasses.image! < a.usage.forwardPasses.image! / 3, JSON.stringify(b.usage.forwardPasses));
      }
    } finally {
      await converted.close();
    }
  });

  it("ZipAR on the converted decoder (key_positions): well-formed images in far fewer passes, batched guidance included; the shipped graph runs Jacobi instead", async () => {
    const dir = convertedNano(root, {});
    const converted = await OnnxBackend.load(dir, { threads: 1 });
    const separate = await OnnxBackend.load(dir, { threads: 1, batchGuidance: false });
    try {
      assert.equal(converted.manifest.decoder.io.keyPositions, 'key_positions');
      let passes = 0;
      let tokens = 0;
      for (const task of ['t2i', 'x2i', 'story', 'vla'] as const) {
        const example = makeTaskExample(task, 'heldout', 6);
        const request = { task, prompt: example.instruction, images: example.inputs.map((l) => renderLayout(l)), seed: 6 };
        const z = await done(converted, { ...request, sampling: { image: { parallel: 'zipar', rowWindow: 2 } } });
        assert.equal(z.usage.imageDecoding, 'zipar');
        const images = z.output.filter((o) => o.type === 'image');
        assert.ok(images.length > 0 && images.every((o) => o.type === 'image' && o.codes.length === o.grid.rows * o.grid.cols), `${task}: whole images`);
        passes += z.usage.forwardPasses.image!;
        tokens += z.usage.imageTokens!;
        // Guidance on: batched and separate streams agree token for token.
        const guided = { ...request, sampling: { cfg: 3, image: { parallel: 'zipar' as const, rowWindow: 2 } } };
        const [g1, g2] = [await done(converted, guided), await done(separate, guided)];
        assert.deepEqual(g1.tokens, g2.tokens, `${task}, cfg 3`);
        assert.equal(g1.usage.forwardPasses.image! * 2, g2.usage.forwardPasses.image!);
      }
      assert.ok(passes / tokens < 0.4, `${passes}/${tokens} passes per image token`);
      const fallback = await done(shipped, { task: 't2i', prompt: 'a red block', images: [], seed: 1, sampling: { image: { parallel: 'zipar' } } });
      assert.equal(fallback.usage.imageDecoding, 'jacobi', 'the torch export has no key_positions');
    } finally {
      await converted.close();
      await separate.close();
    }
  });

  it('fp16 and int8/int4 (MatMulNBits) variants load and run through the engine; int8 stays close to fp32', async () => {
    const example = makeTaskExample('t2i', 'heldout', 3);
    const request = { task: 't2i' as const, prompt: example.instruction, images: [], seed: 3 };
    const reference = await done(shipped, request);
    const agreement: Record<string, number> = {};
    for (const variant of [{ dtype: 'float16' as const }, { quant: 'int8' as const }, { quant: 'int4' as const }]) {
      const dir = convertedNano(root, variant);
      const backend = await OnnxBackend.load(dir, { threads: 1 });
      try {
        const got = await done(backend, request);
        const n = Math.min(got.tokens.length, reference.tokens.length);
        let same = 0;
        for (let i = 0; i < n; i++) if (got.tokens[i] === reference.tokens[i]) same++;
        agreement[JSON.stringify(variant)] = same / reference.tokens.length;
        assert.equal(got.usage.stopReason, reference.usage.stopReason, JSON.stringify(variant));
      } finally {
        await backend.close();
      }
    }
    // Greedy image tokens: a flipped token changes what follows, so this is a loose floor; the judged
    // figures per variant are in docs/benchmarks.md (npm run bench:quant).
    assert.ok(agreement['{"dtype":"float16"}']! > 0.9, JSON.stringify(agreement));
    assert.ok(agreement['{"quant":"int8"}']! > 0.5, JSON.stringify(agreement));
  });

  it('mixed precision (tensorQuant): the first matching rule stores each linear weight; all dense is fp32 exactly', async () => {
    const report = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'convert.json'), 'utf8')).decoder.report;
    const layers = nanoShape(DEFAULT_MODEL_DIR).layers;
    const mixed = convertedNano(root, { quant: 'int4', tensorQuant: [{ pattern: 'lm_head.weight', as: 'dense' }, { pattern: '*.self_attn.*', as: 'int8' }] }, 'int4-mixed');
    assert.deepEqual(report(mixed).linear, { dense: 1, int8: 4 * layers, int4: 3 * layers });
    assert.deepEqual(report(convertedNano(root, { quant: 'int8' })).linear, { dense: 0, int8: 7 * layers + 1, int4: 0 });
    const allDense = convertedNano(root, { quant: 'int8', tensorQuant: [{ pattern: '*', as: 'dense' }] }, 'int8-all-dense');
    const fp32 = convertedNano(root, {});
    assert.equal(report(allDense).dataBytes, report(fp32).dataBytes);
    const example = makeTaskExample('t2i', 'heldout', 4);
    const request = { task: 't2i' as const, prompt: example.instruction, images: [], seed: 4 };
    const [a, b] = [await OnnxBackend.load(allDense, { threads: 1 }), await OnnxBackend.load(fp32, { threads: 1 })];
    try {
      assert.deepEqual((await done(a, request)).tokens, (await done(b, request)).tokens);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('sizes: int8 is about a third and int4 about a fifth of fp32 (linear weights only are quantized)', () => {
    const size = (v: string) => JSON.parse(readFileSync(path.join(root, v, 'convert.json'), 'utf8')).decoder.report.dataBytes as number;
    const fp32 = size('float32-none');
    assert.ok(size('float32-int8') < 0.45 * fp32, `${size('float32-int8')} vs ${fp32}`);
    assert.ok(size('float32-int4') < 0.3 * fp32, `${size('float32-int4')} vs ${fp32}`);
    assert.ok(size('float16-none') < 0.55 * fp32);
  });
});
