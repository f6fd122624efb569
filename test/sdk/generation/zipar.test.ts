import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import { AbortError } from '../../../sdk/errors.ts';
import { generate } from '../../../sdk/generation/generate.ts';
import type { GenerationEvent } from '../../../sdk/generation/GenerationEvent.ts';
import type { SamplingPreset } from '../../../sdk/model/ModelManifest.ts';
import { TOY, V, loopParams } from './fixtures.ts';
import { ScriptedLm, peaked } from './scriptedLm.ts';

type Done = Extract<GenerationEvent, { type: 'done' }>;
const run = (p: Parameters<typeof generate>[0], signal?: AbortSignal) => lastValueFrom(generate(p, signal).pipe(toArray()));
const done = (events: GenerationEvent[]) => events.find((e) => e.type === 'done') as Done;

const GRID = { rows: 4, cols: 5 };
const STRIDE = GRID.cols + 1;

/**
 * A position-aware toy decoder whose next code depends only on its left neighbour and the code above
 * (a local image field; `shift` differs per stream so CFG matters). It reads the grid by position, so it
 * sees exactly what a real decoder with a position mask attends to. `reach: 'row'` also reads the last
 * code of the row above, which ZipAR has not drawn yet: a non-local model.
 */
function fieldLm(shift: number, positionMask: boolean, reach: 'local' | 'row' = 'local'): ScriptedLm {
  return new ScriptedLm(
    TOY.vocabSize,
    (h, positions) => {
      const a = new Float32Array(TOY.vocabSize);
      const pos = positions ?? h.map((_, i) => i);
      const img = h.lastIndexOf(TOY.img);
      const at = new Map<number, number>();
      if (img >= 0) h.forEach((t, i) => i > img && t >= TOY.visualOffset && at.set(pos[i]! - pos[img]!, t - TOY.visualOffset));
      const next = img >= 0 ? pos.at(-1)! - pos[img]! + 1 : 1; // grid position this row predicts
      const left = at.get(next - 1) ?? 0;
      const above = at.get(next - STRIDE) ?? 0;
      const far = reach === 'row' ? (at.get(next - (next % STRIDE) - 1) ?? 0) : 0;
      const center = (left + 2 * above + 3 * far + shift) % 16;
      for (let c = 0; c < 16; c++) {
        const d = Math.min(Math.abs(c - center), 16 - Math.abs(c - center));
        a[V(c)] = -d * d * 0.3;
      }
      return a;
    },
    positionMask,
  );
}

function request(sampling: SamplingPreset, seed: number, opts: { positionMask?: boolean; reach?: 'local' | 'row' } = {}) {
  const mask = opts.positionMask ?? true;
  const field = fieldLm(1, mask, opts.reach);
  // The script: BOI first (the grid header is then forced by fixedGrid), the field afterwards.
  const cond = new ScriptedLm(TOY.vocabSize, (h, p) => (h.length === 3 ? peaked(TOY.vocabSize, TOY.boi, 40) : field.logitsFor(h, p)), mask);
  const uncond = fieldLm(5, mask, opts.reach);
  return { params: loopParams({ cond, uncond, sampling, seed, fixedGrid: GRID, stopAtEoi: true }), cond, uncond };
}

const GREEDY: SamplingPreset = { cfg: 1, text: { topK: 1, topP: 1, temperature: 1 }, image: { topK: 1, topP: 1, temperature: 1 }, maxNewTokens: 60, imageArea: 1024 };
const zipar = (s: SamplingPreset, rowWindow = 2): SamplingPreset => ({ ...s, image: { ...s.image, parallel: 'zipar', rowWindow } });
const grid = (d: Done) => d.tokens.slice(d.tokens.indexOf(TOY.img) + 1);

describe("spatial-locality parallel decoding of image grids (sampling.image.parallel: 'zipar')", function () {
  this.timeout(60_000);

  it('on a model that is local (left and above), the same tokens as sequential decoding in W + window·(H−1) + 1 passes', async () => {
    for (const seed of [0, 1, 2]) {
      const a = done(await run(request(GREEDY, seed).params));
      const b = done(await run(request(zipar(GREEDY), seed).params));
      assert.deepEqual(b.tokens, a.tokens);
      assert.equal(b.usage.imageDecoding, 'zipar');
      assert.equal(a.usage.forwardPasses.image, GRID.rows * STRIDE, 'sequential: one pass per grid token');
      // 5 + 2·3 + 1: rows start two codes behind the one above; the last pass feeds the final code (its EOI is forced).
      assert.equal(b.usage.forwardPasses.image, GRID.cols + 2 * (GRID.rows - 1) + 1);
      const g = grid(b);
      for (let r = 1; r <= GRID.rows; r++) assert.equal(g[r * STRIDE - 1], r === GRID.rows ? TOY.eoi : TOY.eol, `row ${r} ends forced`);
    }
  });

  it('under guidance and sampling: both streams fed the same ids at the same raster positions; reproducible; rows reported in order', async () => {
    const sampled = zipar({ ...GREEDY, cfg: 3, image: { topK: 6, topP: 0.95, temperature: 1 } }, 1);
    const { params, cond, uncond } = request(sampled, 4);
    const events = await run(params);
    const d = done(events);
    assert.deepEqual(done(await run(request(sampled, 4).params)).tokens, d.tokens);
    const rows = events.flatMap((e) => (e.type === 'image.progress' ? [e.rowsDone] : []));
    assert.deepEqual(rows, [1, 2, 3, 4]);
    // Each cache holds the prompt, then every grid position but the forced EOI, each at its raster position.
    const imgAt = cond.fed.indexOf(TOY.img);
    const slots = (lm: ScriptedLm, from: number) => lm.fed.slice(from).map((t, i) => [lm.positions[from + i]! - lm.positions[from]!, t] as const).sort((x, y) => x[0] - y[0]);
    const g = grid(d);
    assert.deepEqual(slots(cond, imgAt).map((x) => x[1]), [TOY.img, ...g.slice(0, -1)]);
    assert.deepEqual(slots(uncond, uncond.fed.indexOf(TOY.img)), slots(cond, imgAt));
    assert.notDeepEqual(cond.fed.slice(imgAt, imgAt + 8), [TOY.img, ...g.slice(0, 7)], 'fed out of raster order');
    assert.ok(d.usage.forwardPasses.image! < d.usage.imageTokens! * 2, JSON.stringify(d.usage));
  });

  it('loses fidelity where the model is not local: a code that reads the end of the row above is drawn before that end exists', async () => {
    let differ = 0;
    for (const seed of [0, 1, 2]) {
      const a = done(await run(request(GREEDY, seed, { reach: 'row' }).params));
      const b = done(await run(request(zipar(GREEDY), seed, { reach: 'row' }).params));
      if (b.tokens.join() !== a.tokens.join()) differ++;
    }
    assert.ok(differ > 0, 'ZipAR is an approximation: the non-local model sees less');
  });

  it('falls back to Jacobi (exact) on a decoder without a position mask, and to sequential when the budget ends inside the grid', async () => {
    const a = done(await run(request(GREEDY, 1, { positionMask: false }).params));
    const b = done(await run(request(zipar(GREEDY), 1, { positionMask: false }).params));
    assert.equal(b.usage.imageDecoding, 'jacobi');
    assert.deepEqual(b.tokens, a.tokens);
    const short = { ...GREEDY, maxNewTokens: 20 };
    const c = done(await run(request(short, 1).params));
    const z = done(await run(request(zipar(short), 1).params));
    assert.deepEqual(z.tokens, c.tokens);
    assert.deepEqual(z.truncated, c.truncated);
    assert.equal(z.usage.forwardPasses.image, c.usage.forwardPasses.image, 'the cut image was decoded sequentially');
  });

  it('an abort between passes stops the work and leaves the image unfinished', async () => {
    const { params, cond } = request(zipar(GREEDY), 3);
    const controller = new AbortController();
    const error = await new Promise((resolve) =>
      generate(params, controller.signal).subscribe({ next: (e) => e.type === 'image.progress' && controller.abort(), error: resolve, complete: () => resolve(undefined) }),
    );
    assert.ok(error instanceof AbortError, String(error));
    const passes = cond.forwardPasses;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(cond.forwardPasses, passes, 'no pass after the abort');
  });
});
