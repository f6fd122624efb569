import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import { AbortError } from '../../../sdk/errors.ts';
import { generate } from '../../../sdk/generation/generate.ts';
import type { GenerationEvent } from '../../../sdk/generation/GenerationEvent.ts';
import { mulberry32 } from '../../../sdk/generation/mulberry32.ts';
import { Candidates } from '../../../sdk/generation/Candidates.ts';
import { GridNoise } from '../../../sdk/generation/GridNoise.ts';
import type { SamplingPreset } from '../../../sdk/model/ModelManifest.ts';
import { TOY, V, loopParams } from './fixtures.ts';
import { ScriptedLm, peaked } from './scriptedLm.ts';

type Done = Extract<GenerationEvent, { type: 'done' }>;
const run = (p: Parameters<typeof generate>[0], signal?: AbortSignal) => lastValueFrom(generate(p, signal).pipe(toArray()));
const done = (events: GenerationEvent[]) => events.find((e) => e.type === 'done') as Done;

const tv = (a: Map<string, number>, b: Map<string, number>, n: number) => {
  let s = 0;
  for (const k of new Set([...a.keys(), ...b.keys()])) s += Math.abs((a.get(k) ?? 0) - (b.get(k) ?? 0));
  return s / (2 * n);
};
const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/** Candidates holding `scores` for ids 10, 11, … (a compacted set, as after top-k). */
const candidates = (scores: number[]): Candidates => {
  const c = new Candidates(64);
  scores.forEach((x, i) => {
    c.ids[i] = 10 + i;
    c.logits[i] = x;
  });
  c.count = scores.length;
  return c;
};
const softmax = (scores: number[]) => {
  const e = scores.map((x) => Math.exp(x - Math.max(...scores)));
  const t = e.reduce((a, b) => a + b, 0);
  return new Map(e.map((x, i) => [String(10 + i), x / t]));
};

describe('image codes drawn with noise fixed by grid position (GridNoise)', () => {
  const scores = [2, 1.4, 0.9, 0, -1.5];

  it('draws are distributed as softmax of the warped scores, over images and over positions', () => {
    const c = candidates(scores);
    const noise = new GridNoise();
    const random = mulberry32(7);
    const n = 40_000;
    const byImage = new Map<string, number>();
    const byPosition = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      noise.rekey(Math.floor(random() * 4294967296));
      count(byImage, String(noise.draw(c, 5)));
    }
    noise.rekey(12345);
    for (let p = 1; p <= n; p++) count(byPosition, String(noise.draw(c, p)));
    const want = new Map([...softmax(scores)].map(([k, v]) => [k, v * n]));
    assert.ok(tv(byImage, want, n) < 0.012, `over images: total variation ${tv(byImage, want, n)}`);
    assert.ok(tv(byPosition, want, n) < 0.012, `over positions: total variation ${tv(byPosition, want, n)}`);
  });

  it('is a function of (key, position, scores): the same inputs give the same code, a lone candidate needs no noise', () => {
    const noise = new GridNoise();
    noise.rekey(99);
    const first = Array.from({ length: 50 }, (_, p) => noise.draw(candidates(scores), p));
    noise.rekey(98);
    const other = Array.from({ length: 50 }, (_, p) => noise.draw(candidates(scores), p));
    noise.rekey(99);
    assert.deepEqual(Array.from({ length: 50 }, (_, p) => noise.draw(candidates(scores), p)), first);
    assert.notDeepEqual(other, first, 'another key, other codes');
    assert.ok(new Set(first).size > 2, 'positions draw independently');
    assert.equal(noise.draw(candidates([3]), 4), 10);
    assert.throws(() => noise.draw(candidates([]), 4), /no candidate token left/);
  });

  it('couples close distributions: a draw from slightly moved scores keeps its code far more often than an independent draw would', () => {
    const noise = new GridNoise();
    const moved = scores.map((x, i) => x + 0.15 * Math.sin(3 * i + 1));
    let same = 0;
    let independent = 0;
    const n = 5000;
    for (let p = 0; p < n; p++) {
      noise.rekey(p);
      const a = noise.draw(candidates(scores), 1);
      same += Number(noise.draw(candidates(moved), 1) === a);
      independent += Number(noise.draw(candidates(moved), 2) === a);
    }
    assert.ok(same / n > 0.9, `kept ${same / n}`);
    assert.ok(independent / n < 0.5, `independent ${independent / n}`);
  });
});

/**
 * A toy decoder whose next visual code depends on the two codes before it (a smooth, image-like field)
 * and, for the unconditional stream, on a different rule: so CFG, top-k and the history all matter.
 */
function fieldLm(shift: number, sharp: number): ScriptedLm {
  return new ScriptedLm(TOY.vocabSize, (h) => {
    const a = new Float32Array(TOY.vocabSize);
    const codes = h.filter((t) => t >= TOY.visualOffset).map((t) => t - TOY.visualOffset);
    const center = ((codes.at(-1) ?? 0) + (codes.at(-2) ?? 0) + shift) % 16;
    for (let c = 0; c < 16; c++) {
      const d = Math.min(Math.abs(c - center), 16 - Math.abs(c - center));
      a[V(c)] = -sharp * d * d * 0.1;
    }
    return a;
  });
}

const GRID = { rows: 2, cols: 3 };
const imageRequest = (sampling: SamplingPreset, seed: number) => {
  const cond = fieldLm(1, 1);
  const uncond = fieldLm(5, 0.5);
  // The script: BOI, then the grid header is forced (fixedGrid); the cond LM is never asked for text.
  const scripted = new ScriptedLm(TOY.vocabSize, (h) => (h.length === 3 ? peaked(TOY.vocabSize, TOY.boi, 40) : cond.logitsFor(h)));
  return { params: loopParams({ cond: scripted, uncond, sampling, seed, fixedGrid: GRID, stopAtEoi: true }), cond: scripted, uncond };
};
const SAMPLED: SamplingPreset = { cfg: 3, text: { topK: 1, topP: 1, temperature: 1 }, image: { topK: 6, topP: 0.95, temperature: 1 }, maxNewTokens: 40, imageArea: 1024 };
const jacobi = (s: SamplingPreset, draftWindow = 4): SamplingPreset => ({ ...s, image: { ...s.image, parallel: 'jacobi', draftWindow } });
const codesOf = (d: Done) => d.tokens.filter((t) => t >= TOY.visualOffset).map((t) => t - TOY.visualOffset);

describe("speculative Jacobi decoding of image grids (sampling.image.parallel: 'jacobi')", function () {
  this.timeout(60_000);

  it('under CFG, top-k and top-p: the same tokens as sequential decoding, seed for seed, in fewer passes', async () => {
    let passes = 0;
    let tokens = 0;
    const grids = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const a = done(await run(imageRequest(SAMPLED, seed).params));
      const b = done(await run(imageRequest(jacobi(SAMPLED), seed).params));
      assert.deepEqual(b.tokens, a.tokens, `seed ${seed}`);
      grids.add(codesOf(a).join());
      passes += b.usage.forwardPasses.image!;
      tokens += b.usage.imageTokens!;
    }
    assert.ok(grids.size > 150, `sampled, not fixed: ${grids.size} distinct grids of 200`);
    // Two streams (CFG 3, run separately by this scripted LM): sequential decoding costs 2 passes per image token.
    assert.ok(passes / tokens < 1.8, `drafts kept: ${passes / tokens} passes per image token`);
  });

  it('sequential grids are distributed as the model says: the first code under CFG, top-k and top-p', async () => {
    // Code 0 follows IMG with no code before it: cond centre 1, uncond centre 5 (fieldLm), CFG 3, top-k 6, top-p 0.95.
    const field = (centre: number, sharp: number) => Array.from({ length: 16 }, (_, c) => {
      const d = Math.min(Math.abs(c - centre), 16 - Math.abs(c - centre));
      return -sharp * d * d * 0.1;
    });
    const logSoftmax = (x: number[]) => {
      const m = Math.max(...x);
      const z = Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0)) + m;
      return x.map((v) => v - z);
    };
    const [lc, lu] = [logSoftmax(field(1, 1)), logSoftmax(field(5, 0.5))];
    const guided = lc.map((c, i) => lu[i]! + 3 * (c - lu[i]!));
    const order = guided.map((_, i) => i).sort((a, b) => guided[b]! - guided[a]!).slice(0, 6);
    const p = softmax(order.map((i) => guided[i]!));
    const probs = [...p.values()];
    // Emu3.5's nucleus: drop the tokens whose cumulative probability exceeds p (the first always stays).
    let keep = 1;
    for (let mass = probs[0]!; keep < probs.length && mass + probs[keep]! <= 0.95; keep++) mass += probs[keep]!;
    const kept = order.slice(0, keep);
    const total = probs.slice(0, keep).reduce((a, b) => a + b, 0);
    const n = 3000;
    const want = new Map(kept.map((code, j) => [String(code), (probs[j]! / total) * n]));
    const got = new Map<string, number>();
    for (let seed = 0; seed < n; seed++) count(got, String(codesOf(done(await run(imageRequest(SAMPLED, seed).params)))[0]));
    assert.ok(tv(got, want, n) < 0.03, `total variation ${tv(got, want, n)}: ${JSON.stringify([...got])} vs ${JSON.stringify([...want])}`);
  });

  it('feeds both streams the same tokens and rolls both caches back to exactly the accepted ones', async () => {
    const { params, cond, uncond } = imageRequest(jacobi(SAMPLED), 11);
    const d = done(await run(params));
    // After generation the caches hold the prompt, every generated token except the last (EOI is never fed).
    assert.deepEqual(cond.fed, [...params.condPrompt, ...d.tokens.slice(0, -1)]);
    assert.deepEqual(uncond.fed, [...params.uncondPrompt, ...d.tokens.slice(0, -1)]);
    assert.equal(d.usage.forwardPasses.uncond, uncond.forwardPasses);
    assert.ok(cond.calls.some((c) => c.length > 1), 'several tokens per pass');
  });

  it('is deterministic for a seed, keeps EOL/EOI exact and reports rows in order', async () => {
    const a = await run(imageRequest(jacobi(SAMPLED), 5).params);
    const b = await run(imageRequest(jacobi(SAMPLED), 5).params);
    assert.deepEqual(done(a).tokens, done(b).tokens);
    const t = done(a).tokens;
    const img = t.indexOf(TOY.img);
    assert.deepEqual([t[img + 4], t[img + 8]], [TOY.eol, TOY.eoi]);
    const rows = a.flatMap((e) => (e.type === 'image.progress' ? [e.rowsDone] : []));
    assert.deepEqual(rows, [1, 2]);
  });

  it('greedy: the same tokens as sequential decoding, in fewer passes', async () => {
    const greedy: SamplingPreset = { ...SAMPLED, image: { topK: 1, topP: 1, temperature: 1 } };
    for (const seed of [0, 1, 2]) {
      const a = done(await run(imageRequest(greedy, seed).params));
      const b = done(await run(imageRequest(jacobi(greedy, 8), seed).params));
      assert.deepEqual(b.tokens, a.tokens);
      assert.ok(b.usage.forwardPasses.image! < a.usage.forwardPasses.image!);
      // Both guidance streams count: two passes per grid token when they run separately.
      assert.equal(a.usage.forwardPasses.image, 2 * a.usage.imageTokens!);
      assert.equal(a.usage.forwardPasses.batched, 0);
    }
  });

  it('stops at the token budget inside an image with the same truncation as sequential decoding', async () => {
    const greedy: SamplingPreset = { ...SAMPLED, maxNewTokens: 9, image: { topK: 1, topP: 1, temperature: 1 } };
    const a = done(await run(imageRequest(greedy, 3).params));
    const b = done(await run(imageRequest(jacobi(greedy, 8), 3).params));
    assert.equal(b.tokens.length, 9);
    assert.deepEqual(b.tokens, a.tokens);
    assert.deepEqual(b.truncated, a.truncated);
  });

  it('an abort between passes stops the work and rejects with AbortError', async () => {
    const { params, cond } = imageRequest(jacobi(SAMPLED, 1), 2);
    const controller = new AbortController();
    const error = await new Promise((resolve) =>
      generate(params, controller.signal).subscribe({ next: (e) => e.type === 'image.progress' && controller.abort(), error: resolve, complete: () => resolve(undefined) }),
    );
    assert.ok(error instanceof AbortError, String(error));
    const passes = cond.forwardPasses;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(cond.forwardPasses, passes, 'no pass after the abort');
    assert.ok(cond.fed.filter((t) => t === TOY.eoi).length === 0, 'the image was not finished');
  });

  it('refuses a decoder that cannot return every position or roll back, with a clear error', async () => {
    const { params } = imageRequest(jacobi(SAMPLED), 0);
    const plain = params.cond as ScriptedLm;
    const bare = { get length() { return plain.length; }, get forwardPasses() { return plain.forwardPasses; }, feed: plain.feed.bind(plain) };
    await assert.rejects(run({ ...params, cond: bare }), /feedAll\/truncate/);
  });
});
