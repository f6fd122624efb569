import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import type { GenerationEvent } from '../../../sdk/generation/GenerationEvent.ts';
import { DEFAULT_MODEL_DIR } from '../../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../../sdk/OnnxBackend.ts';
import { renderLayout } from '../../../sim/render/renderLayout.ts';
import { makeTaskExample } from '../../../sim/tasks/taskExamples.ts';

type Done = Extract<GenerationEvent, { type: 'done' }>;
const JACOBI = { image: { parallel: 'jacobi' as const, draftWindow: 16 } };
const SEQUENTIAL = { image: { parallel: 'none' as const } };

describe('speculative Jacobi decoding on emu-nano', function () {
  this.timeout(120_000);
  let backend: OnnxBackend;
  before(async () => (backend = await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 1 })));
  after(() => backend?.close());
  const events = (request: Parameters<OnnxBackend['generate']>[0]) => lastValueFrom(backend.generate(request).pipe(toArray()));

  it('the shipped presets decode images with Jacobi (window 16), the scheme bench:images measured', () => {
    for (const task of ['t2i', 'x2i', 'story', 'howto', 'explore', 'vla'] as const) {
      const image = backend.manifest.tasks[task]!.sampling.image;
      assert.deepEqual([image.parallel, image.draftWindow], ['jacobi', 16], task);
    }
  });

  it("greedy presets: the same tokens as sequential decoding on every image task, in under a third of the image passes", async () => {
    let passes = 0;
    let tokens = 0;
    for (const task of ['t2i', 'x2i', 'vla', 'story', 'explore'] as const) {
      for (const seed of [0, 1]) {
        const example = makeTaskExample(task, 'heldout', seed);
        const request = { task, prompt: example.instruction, images: example.inputs.map((l) => renderLayout(l)), seed };
        const a = (await events({ ...request, sampling: SEQUENTIAL })).at(-1) as Done;
        const all = await events({ ...request, sampling: JACOBI });
        const b = all.at(-1) as Done;
        assert.deepEqual(b.tokens, a.tokens, `${task}/${seed}`);
        assert.equal(a.usage.forwardPasses.image, a.usage.imageTokens, 'sequential: one pass per grid token');
        passes += b.usage.forwardPasses.image!;
        tokens += b.usage.imageTokens!;
        // Rows still arrive in order, once each, per image.
        const progress = all.flatMap((e) => (e.type === 'image.progress' ? [`${e.index}:${e.rowsDone}`] : []));
        const expected = all.flatMap((e) => (e.type === 'image.done' ? Array.from({ length: e.grid.rows }, (_, r) => `${e.index}:${r + 1}`) : []));
        assert.deepEqual(progress, expected);
      }
    }
    assert.ok(passes / tokens < 0.33, `${passes}/${tokens} passes per image token`);
  });

  it('with guidance on and sampled image tokens (as the real Emu3.5 runs): well-formed images, both streams verified, reproducible', async () => {
    const example = makeTaskExample('t2i', 'heldout', 4);
    const request = { task: 't2i' as const, prompt: example.instruction, images: [], seed: 9, sampling: { cfg: 2, image: { topK: 20, topP: 0.9, temperature: 1, parallel: 'jacobi' as const } } };
    const a = (await events(request)).at(-1) as Done;
    const b = (await events(request)).at(-1) as Done;
    assert.deepEqual(a.tokens, b.tokens);
    const image = a.output.find((o) => o.type === 'image');
    assert.ok(image && image.type === 'image' && image.codes.length === 64, 'one 8×8 image');
    assert.ok(a.usage.forwardPasses.uncond > 0 && a.usage.forwardPasses.uncond < a.usage.imageTokens!, JSON.stringify(a.usage.forwardPasses));
    assert.ok(a.usage.forwardPasses.image! < a.usage.imageTokens!, JSON.stringify(a.usage));
  });
});
