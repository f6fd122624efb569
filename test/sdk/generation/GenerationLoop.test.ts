import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import { AbortError } from '../../../sdk/errors.ts';
import { generate } from '../../../sdk/generation/generate.ts';
import type { GenerationEvent } from '../../../sdk/generation/GenerationEvent.ts';
import { A, B, TOY, V, flatUncond, loopParams, scriptedCond } from './fixtures.ts';
import { ScriptedLm, peaked } from './scriptedLm.ts';

const { boi, eoi, img, eol, eos, bog, eog, star } = TOY;
const run = (p: Parameters<typeof generate>[0], signal?: AbortSignal) => lastValueFrom(generate(p, signal).pipe(toArray()));
const done = (events: GenerationEvent[]) => events.find((e) => e.type === 'done') as Extract<GenerationEvent, { type: 'done' }>;

describe('generation loop', () => {
  it('feeds the unconditional stream its prompt plus image-span tokens only, never text', async () => {
    // text, image (fixed 2×2), text, image, EOS; the script covers forced positions too (ignored there)
    const header = [2, star, 2, img];
    const img1 = [boi, ...header, V(1), V(2), eol, V(3), V(4), eoi];
    const img2 = [boi, ...header, V(5), V(6), eol, V(7), V(8), eoi];
    const cond = scriptedCond(3, [A, B, ...img1, A, ...img2]);
    const uncond = flatUncond();
    const events = await run(loopParams({ cond, uncond, fixedGrid: { rows: 2, cols: 2 } }));
    assert.deepEqual(uncond.fed, [B, B, ...img1, ...img2]);
    assert.deepEqual(done(events).tokens, [A, B, ...img1, A, ...img2, eos]);
    // first uncond call is the lazy prefill: prompt + BOI together
    assert.deepEqual(uncond.calls[0], [B, B, boi]);
    assert.equal(done(events).usage.forwardPasses.uncond, uncond.calls.length);
  });

  it('skips the unconditional stream entirely when cfg = 1', async () => {
    const cond = scriptedCond(3, [boi, 2, star, 2, img, V(1), V(2), eol, V(3), V(4), eoi]);
    const uncond = flatUncond();
    const events = await run(loopParams({ cond, uncond, fixedGrid: { rows: 2, cols: 2 }, sampling: { ...loopParams({ cond }).sampling, cfg: 1 } }));
    assert.equal(uncond.forwardPasses, 0);
    assert.equal(done(events).usage.forwardPasses.uncond, 0);
    assert.equal(done(events).usage.stopReason, 'eos');
  });

  it('samples the first header with the auto mask and replays it for later images', async () => {
    // cond prefers '0' everywhere in the header: the mask must turn hw 1 and 4 into 1–9, hw 3 into '*'.
    const cond = new ScriptedLm(TOY.vocabSize, (h) => {
      const n = h.length - 3;
      const script = [boi];
      if (n === 0 || n === 7 + 10 * 11 + 1) return peaked(TOY.vocabSize, boi, 40);
      if (h.filter((t) => t === eoi).length === 2) return peaked(TOY.vocabSize, eos, 40);
      const lastBoi = h.lastIndexOf(boi);
      if (h.indexOf(img, lastBoi) < 0) {
        const a = new Float32Array(TOY.vocabSize);
        a[0] = 30; // '0': never allowed at hw 1/4
        a[1] = 20; // '1'
        return a;
      }
      void script;
      return peaked(TOY.vocabSize, V(3), 40);
    });
    const events = await run(loopParams({ cond, uncond: flatUncond(), sampling: { ...loopParams({ cond }).sampling, maxNewTokens: 400 } }));
    const starts = events.filter((e) => e.type === 'image.start');
    assert.equal(starts.length, 2);
    assert.deepEqual(starts[0]!.type === 'image.start' && starts[0]!.grid, { rows: 10, cols: 10 });
    assert.deepEqual(starts[1]!.type === 'image.start' && starts[1]!.grid, { rows: 10, cols: 10 });
    const toks = done(events).tokens;
    assert.deepEqual(toks.slice(0, 7), [boi, 1, 0, star, 1, 0, img]);
  });

  it('emits text/cot deltas, image start/progress/done, and stops at EOI for single-image tasks', async () => {
    const cond = scriptedCond(3, [bog, A, eog, B, boi, 2, star, 2, img, V(1), V(2), eol, V(3), V(4), eoi, A]);
    const events = await run(loopParams({ cond, uncond: flatUncond(), fixedGrid: { rows: 2, cols: 2 }, stopAtEoi: true, decodeImage: async (g) => ({ width: g.cols, height: g.rows, data: new Uint8Array(g.cols * g.rows * 3) }) }));
    const types = events.map((e) => e.type);
    assert.deepEqual(types, ['start', 'cot.delta', 'text.delta', 'image.start', 'image.progress', 'image.progress', 'image.done', 'done']);
    assert.deepEqual(events[1], { type: 'cot.delta', kind: 'global', text: 'a' });
    assert.deepEqual(events[2], { type: 'text.delta', text: 'b' });
    const imgDone = events[6] as Extract<GenerationEvent, { type: 'image.done' }>;
    assert.deepEqual(imgDone.codes, [1, 2, 3, 4]);
    assert.equal(imgDone.image?.width, 2);
    assert.equal(done(events).usage.stopReason, 'eoi');
  });

  it('stops at maxNewTokens', async () => {
    const cond = new ScriptedLm(TOY.vocabSize, () => peaked(TOY.vocabSize, A, 40));
    const events = await run(loopParams({ cond, sampling: { ...loopParams({ cond }).sampling, maxNewTokens: 9, cfg: 1 } }));
    assert.equal(done(events).tokens.length, 9);
    assert.equal(done(events).usage.stopReason, 'max_tokens');
    assert.equal(cond.forwardPasses, 9); // prefill + 8 steps: no pass after the last token
  });

  it('is deterministic per seed and differs across seeds', async () => {
    const flat = () => new ScriptedLm(TOY.vocabSize, () => new Float32Array(TOY.vocabSize));
    const tokens = async (seed: number) => done(await run(loopParams({ cond: flat(), seed, sampling: { ...loopParams({ cond: flat() }).sampling, cfg: 1, maxNewTokens: 40, text: { topK: 20, topP: 1, temperature: 1 } } }))).tokens;
    const a1 = await tokens(1);
    assert.deepEqual(await tokens(1), a1);
    assert.notDeepEqual(await tokens(2), a1);
  });

  it('stops forward passes when the subscriber unsubscribes', async () => {
    const cond = new ScriptedLm(TOY.vocabSize, () => peaked(TOY.vocabSize, A, 40));
    let seen = 0;
    await new Promise<void>((resolve) => {
      const sub = generate(loopParams({ cond, sampling: { ...loopParams({ cond }).sampling, cfg: 1, maxNewTokens: 1000 } })).subscribe((e) => {
        if (e.type === 'text.delta' && ++seen === 5) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    const at = cond.forwardPasses;
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(at <= 6, `forward passes at unsubscribe: ${at}`);
    assert.equal(cond.forwardPasses, at, 'no forward pass after unsubscribe');
  });

  it('errors with AbortError and stops forward passes when the signal aborts', async () => {
    const cond = new ScriptedLm(TOY.vocabSize, () => peaked(TOY.vocabSize, A, 40));
    const ac = new AbortController();
    let seen = 0;
    const err = await new Promise<unknown>((resolve) => {
      generate(loopParams({ cond, sampling: { ...loopParams({ cond }).sampling, cfg: 1, maxNewTokens: 1000 } }), ac.signal).subscribe({
        next: (e) => {
          if (e.type === 'text.delta' && ++seen === 3) ac.abort();
        },
        error: resolve,
        complete: () => resolve(undefined),
      });
    });
    assert.ok(err instanceof AbortError, `expected AbortError, got ${String(err)}`);
    const at = cond.forwardPasses;
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(cond.forwardPasses, at);
    assert.ok(at <= 4);
  });
});
