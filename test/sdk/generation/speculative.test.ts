import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import { AbortError } from '../../../sdk/errors.ts';
import { generate } from '../../../sdk/generation/generate.ts';
import type { GenerationEvent } from '../../../sdk/generation/GenerationEvent.ts';
import { mulberry32 } from '../../../sdk/generation/mulberry32.ts';
import type { Distribution } from '../../../sdk/generation/speculative/Distribution.ts';
import { SpeculativeSampler } from '../../../sdk/generation/speculative/SpeculativeSampler.ts';
import type { SamplingPreset } from '../../../sdk/model/ModelManifest.ts';
import { TOY, V, loopParams } from './fixtures.ts';
import { ScriptedLm, peaked } from './scriptedLm.ts';

type Done = Extract<GenerationEvent, { type: 'done' }>;
const run = (p: Parameters<typeof generate>[0], signal?: AbortSignal) => lastValueFrom(generate(p, signal).pipe(toArray()));
const done = (events: GenerationEvent[]) => events.find((e) => e.type === 'done') as Done;

const dist = (entries: [number, number][]): Distribution => ({ ids: Int32Array.from(entries.map((e) => e[0])), probs: Float32Array.from(entries.map((e) => e[1])) });
const tv = (a: Map<string, number>, b: Map<string, number>, n: number) => {
  let s = 0;
  for (const k of new Set([...a.keys(), ...b.keys()])) s += Math.abs((a.get(k) ?? 0) - (b.get(k) ?? 0));
  return s / (2 * n);
};
const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

describe('speculative acceptance rule', () => {
  const p = dist([[0, 0.5], [1, 0.3], [2, 0.15], [3, 0.05]]);
  const draw = (d: Distribution, u: number) => {
    for (let i = 0; i < d.ids.length; i++) if ((u -= d.probs[i]!) < 0) return d.ids[i]!;
    return d.ids[d.ids.length - 1]!;
  };
  for (const [name, q] of [
    ['a draft distribution that disagrees with p', dist([[0, 0.1], [1, 0.1], [2, 0.2], [3, 0.3], [4, 0.3]])],
    ['a point-mass draft (a deterministic guess)', null],
  ] as const) {
    it(`keeps or redraws so the token is distributed as p, for ${name}`, () => {
      const random = mulberry32(1);
      const s = new SpeculativeSampler(random, 8);
      const n = 40_000;
      const got = new Map<string, number>();
      const want = new Map<string, number>();
      let accepted = 0;
      for (let i = 0; i < n; i++) {
        const x = q ? draw(q, random()) : 3;
        const v = s.verify(p, x, q);
        if (v.accepted) accepted++;
        count(got, String(v.token));
        count(want, String(draw(p, random())));
      }
      assert.ok(tv(got, want, n) < 0.015, `total variation ${tv(got, want, n)}`);
      // min(1, p/q) summed under q: Σ min(p, q) = 0.1 + 0.1 + 0.15 + 0.05 = 0.4; point mass at 3: p(3) = 0.05.
      const expected = q ? 0.4 : 0.05;
      assert.ok(Math.abs(accepted / n - expected) < 0.01, `acceptance ${accepted / n} vs ${expected}`);
    });
  }

  it('spends no randomness when p is a point mass (greedy), so a greedy run is reproducible token for token', () => {
    let draws = 0;
    const s = new SpeculativeSampler(() => (draws++, 0.5), 8);
    const greedy = dist([[2, 1]]);
    assert.deepEqual(s.verify(greedy, 2, null), { token: 2, accepted: true });
    assert.deepEqual(s.verify(greedy, 5, null), { token: 2, accepted: false });
    assert.deepEqual(s.verify(greedy, 5, dist([[5, 0.7], [2, 0.3]])), { token: 2, accepted: false });
    assert.equal(draws, 0);
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

  it('samples grids from the same distribution as sequential decoding under CFG, top-k and top-p', async () => {
    const n = 2500;
    const seq = { at: Array.from({ length: 6 }, () => new Map<string, number>()), repeats: 0 };
    const par = { at: Array.from({ length: 6 }, () => new Map<string, number>()), repeats: 0 };
    let passes = 0;
    let tokens = 0;
    for (let seed = 0; seed < n; seed++) {
      for (const [stats, sampling] of [[seq, SAMPLED], [par, jacobi(SAMPLED)]] as const) {
        const d = done(await run(imageRequest(sampling, seed).params));
        const c = codesOf(d);
        assert.equal(c.length, 6);
        c.forEach((code, i) => count(stats.at[i]!, String(code)));
        // Drafts guess "same as above / left": a rule that kept drafts too often would inflate this.
        stats.repeats += Number(c[1] === c[0]) + Number(c[2] === c[1]) + Number(c[3] === c[0]) + Number(c[4] === c[1]) + Number(c[5] === c[2]);
        if (stats === par) {
          passes += d.usage.forwardPasses.image!;
          tokens += d.usage.imageTokens!;
        }
      }
    }
    // Two samples of 2500 from one distribution differ by TV ≈ 0.02–0.03 per position here.
    for (let i = 0; i < 6; i++) assert.ok(tv(seq.at[i]!, par.at[i]!, n) < 0.06, `code ${i}: TV ${tv(seq.at[i]!, par.at[i]!, n)}`);
    assert.ok(Math.abs(seq.repeats - par.repeats) / (5 * n) < 0.03, `repeats ${seq.repeats} vs ${par.repeats}`);
    // Two streams (CFG 3, run separately by this scripted LM): sequential decoding costs 2 passes per image token.
    assert.ok(passes / tokens < 1.8, `drafts kept: ${passes / tokens} passes per image token`);
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
