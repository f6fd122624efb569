import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { AbortError, ConfigError, InputError, ModelError } from '../../../sdk/errors.ts';
import type { GenerationEvent } from '../../../sdk/generation/GenerationEvent.ts';
import { GenerationLoop } from '../../../sdk/generation/GenerationLoop.ts';
import type { CausalLm } from '../../../sdk/generation/CausalLm.ts';
import { createRgbImage } from '../../../sdk/image/RgbImage.ts';
import { OnnxBackend } from '../../../sdk/OnnxBackend.ts';
import { DecoderSession } from '../../../sdk/runtime/DecoderSession.ts';
import { buildTinyModel, emu35SpecialIds, type TinyModel } from '../../kit/index.ts';
import { collect, story, t2i, x2i } from '../../../sdk/tasks.ts';

const TINY_SPECIAL_START = 280; // 256 bytes + 24 merges in the tiny ranks file

/** Re-runs the whole history from an empty cache on every call: the reference for the KV cache. */
class RecomputeLm implements CausalLm {
  readonly #inner: DecoderSession;
  #history: number[] = [];
  forwardPasses = 0;
  constructor(inner: DecoderSession) {
    this.#inner = inner;
  }
  get length() {
    return this.#history.length;
  }
  async feed(ids: readonly number[], signal?: AbortSignal) {
    this.#history.push(...ids);
    this.forwardPasses++;
    return Float32Array.from(await this.#inner.prefill(this.#history, signal));
  }
}

describe('OnnxBackend on a tiny random model', () => {
  let dir: string;
  let model: TinyModel;
  let backend: OnnxBackend;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'emu-be-'));
    const ids = emu35SpecialIds(TINY_SPECIAL_START);
    model = await buildTinyModel(path.join(dir, 'm'), { seed: 1, maxPositions: 400, logitBias: { [ids.boi]: 4 } });
    assert.equal(model.manifest.vocab.ids.boi, ids.boi);
    backend = await OnnxBackend.load(model.dir);
  });
  after(async () => {
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('t2i: one image on the preset grid, decoded, stop at EOI', async () => {
    const r = await t2i(backend, { prompt: 'a red cube', seed: 3 });
    const images = r.output.filter((o) => o.type === 'image');
    assert.equal(images.length, 1);
    const im = images[0]!;
    assert.ok(im.type === 'image');
    assert.deepEqual(im.grid, { rows: 2, cols: 2 }); // tiny '1:1' preset
    assert.equal(im.image?.width, 32);
    assert.equal(r.usage.stopReason, 'eoi');
    assert.ok(r.usage.forwardPasses.uncond > 0);
  });

  it('x2i: generated image inherits the reference grid (1×3 from a 96×32 photo)', async () => {
    const r = await x2i(backend, { prompt: 'make it blue', images: [createRgbImage(96, 32, [200, 10, 10]) as { width: number; height: number; data: Uint8Array<ArrayBuffer> }], seed: 4 });
    const im = r.output.find((o) => o.type === 'image');
    assert.ok(im && im.type === 'image');
    assert.deepEqual(im.grid, { rows: 1, cols: 3 });
  });

  it('same seed → same tokens; different seed → different tokens', async () => {
    const a = await story(backend, { prompt: 'once', seed: 11, sampling: { maxNewTokens: 30 } });
    const b = await story(backend, { prompt: 'once', seed: 11, sampling: { maxNewTokens: 30 } });
    const c = await story(backend, { prompt: 'once', seed: 12, sampling: { maxNewTokens: 30 } });
    assert.deepEqual(a.tokens, b.tokens);
    assert.notDeepEqual(a.tokens, c.tokens);
  });

  it('the engine with the KV cache emits the same tokens as with full recompute', async () => {
    const tokens = await story(backend, { prompt: 'kv', seed: 5, sampling: { maxNewTokens: 40, cfg: 2 } });
    const graph = await DecoderSession.openSession(path.join(model.dir, 'decoder.onnx'), model.manifest.decoder, model.manifest.vocab.size);
    const mk = () => new RecomputeLm(new DecoderSession(graph, model.manifest.decoder, model.manifest.vocab.size));
    const events: GenerationEvent[] = [];
    const sampling = { ...model.manifest.tasks.story!.sampling, maxNewTokens: 40, cfg: 2 };
    const prompts = (await import('../../../sdk/prompt/buildPrompts.ts')).buildPrompts({ manifest: model.manifest, tokenizer: backend.tokenizer, task: 'story', question: 'kv', images: [] });
    const digits = [...'0123456789'].map((d) => backend.tokenizer.encode(d)[0]!);
    const v = model.manifest.vocab.ids;
    const loop = new GenerationLoop({
      task: 'story', cond: mk(), uncond: mk(), condPrompt: prompts.cond, uncondPrompt: prompts.uncond, sampling, seed: 5, stopAtEoi: false,
      ids: { ...v, hidden: [v.ess, v.eos], digits, star: backend.tokenizer.encode('*')[0]!, visualOffset: model.manifest.vocab.visualOffset, vocabSize: model.manifest.vocab.size },
      decodeText: (ids) => backend.tokenizer.decode(ids), parseOutput: () => [],
    });
    await loop.run(new AbortController().signal, (e) => events.push(e));
    const done = events.at(-1) as Extract<GenerationEvent, { type: 'done' }>;
    assert.ok(tokens.tokens.includes(v.boi), 'the run should cover an image');
    assert.deepEqual(done.tokens, tokens.tokens);
    await graph.release();
  });

  it('abort via signal rejects with AbortError', async () => {
    const ac = new AbortController();
    const p = collect(backend.generate({ task: 'story', prompt: 'x', sampling: { maxNewTokens: 200 } }, { signal: ac.signal }));
    setTimeout(() => ac.abort(), 5);
    await assert.rejects(p, AbortError);
  });

  it('bad input: unknown task, invalid sampling, over-long prompt each give a typed error', async () => {
    const run = (req: unknown) => lastValueFrom(backend.generate(req as never).pipe(toArray()));
    await assert.rejects(run({ task: 'dance', prompt: 'x' }), (e: unknown) => e instanceof InputError && e.code === 'unknown_task' && /'dance'.*t2i/.test(e.message));
    await assert.rejects(run({ task: 'story', prompt: 'x', sampling: { text: { topP: 2 } } }), (e: unknown) => e instanceof ConfigError && /topP/.test(e.message));
    await assert.rejects(run({ task: 'story', prompt: 'x', sampling: { temperature: 1 } }), ConfigError);
    await assert.rejects(run({ task: 'story', prompt: 'word '.repeat(500) }), (e: unknown) => e instanceof InputError && e.code === 'context_overflow' && /400 positions/.test(e.message));
    await assert.rejects(run({ task: 'story', prompt: 'x', sampling: { maxNewTokens: 399 } }), (e: unknown) => e instanceof InputError && e.code === 'context_overflow');
    // An image area no context can hold fails before any pixel is resized (was a raw vips out-of-memory error).
    await assert.rejects(run({ task: 'x2i', prompt: 'x', images: [createRgbImage(32, 32)], sampling: { imageArea: 2 ** 40 } }), (e: unknown) => e instanceof InputError && e.code === 'context_overflow' && /lower sampling.imageArea/.test(e.message));
    // Megabyte prompts (many words, or one unbroken word) are the same typed error, not a RangeError from the call stack.
    for (const prompt of ['word '.repeat(400_000), 'ab'.repeat(150_000)]) {
      await assert.rejects(run({ task: 'story', prompt }), (e: unknown) => e instanceof InputError && e.code === 'context_overflow');
    }
    // A grid no context can hold is context_overflow before the generation (it used to run and end cut off).
    await assert.rejects(run({ task: 't2i', prompt: 'x', grid: [99, 99] }), (e: unknown) => e instanceof InputError && e.code === 'context_overflow' && /99×99 image is 9907 tokens/.test(e.message));
    await assert.rejects(run({ task: 't2i', prompt: 'x', sampling: { imageArea: 0 } }), ConfigError);
    await assert.rejects(run({ task: 'x2i', prompt: 'x', images: [createRgbImage(32, 32)], sampling: { imageArea: Number.NaN } }), ConfigError);
    await assert.rejects(run({ task: 't2i', prompt: 'x', aspect: '5:4' }), (e: unknown) => e instanceof InputError && /unknown aspect/.test(e.message));
  });

  it('missing model files → ModelError model_missing', async () => {
    const copy = path.join(dir, 'partial');
    await cp(model.dir, copy, { recursive: true, filter: (src) => !src.endsWith('vision_decoder.onnx') });
    await assert.rejects(OnnxBackend.load(copy), (e: unknown) => e instanceof ModelError && e.code === 'model_missing' && /vision/.test(e.message));
  });
});
