import assert from 'node:assert/strict';
import { Candidates } from '../../../sdk/generation/Candidates.ts';
import { CategoricalSampler } from '../../../sdk/generation/CategoricalSampler.ts';
import { mulberry32 } from '../../../sdk/generation/mulberry32.ts';
import { CfgCombine } from '../../../sdk/generation/processors/CfgCombine.ts';
import { TemperatureWarper } from '../../../sdk/generation/warpers/TemperatureWarper.ts';
import { TopKWarper } from '../../../sdk/generation/warpers/TopKWarper.ts';
import { TopPWarper } from '../../../sdk/generation/warpers/TopPWarper.ts';

const cands = (xs: number[]) => new Candidates(xs.length).gather(new Float32Array(xs));
const kept = (c: Candidates) => Array.from({ length: c.count }, (_, i) => c.idAt(i)).sort((a, b) => a - b);

describe('warpers and sampler', () => {
  it('temperature divides the scores', () => {
    const c = cands([2, -4, 1]);
    new TemperatureWarper(0.5).warp(c);
    assert.deepEqual(Array.from(c.logits.subarray(0, 3)), [4, -8, 2]);
  });

  it('top-k keeps scores ≥ the k-th largest, ties included', () => {
    const c = cands([1, 5, 3, 5, 2, 3]);
    new TopKWarper(3).warp(c);
    assert.deepEqual(kept(c), [1, 2, 3, 5]); // 5,5,3,3 (tie at the 3rd)
    const d = cands([1, 5, 3, 4]);
    new TopKWarper(2).warp(d);
    assert.deepEqual(kept(d), [1, 3]);
  });

  it('top-k matches a full sort on 131,072 random scores (k = 10240), dense and gathered', () => {
    for (const seed of [1, 2, 3]) {
      const r = mulberry32(seed);
      const n = 131072;
      const xs = new Float32Array(n);
      for (let i = 0; i < n; i++) xs[i] = (r() - 0.5) * (seed === 3 ? 0.001 : 40);
      const thr = Float32Array.from(xs).sort().reverse()[10239]!;
      const expected = Array.from(xs).flatMap((x, i) => (x >= thr ? [i + 100] : []));
      const c = new Candidates(n);
      c.logits.set(xs);
      c.setDense(100, n);
      new TopKWarper(10240).warp(c);
      assert.deepEqual(kept(c), expected);
    }
  });

  it('top-p drops tokens whose cumulative probability exceeds p, always keeping the first', () => {
    // probs ≈ 0.5, 0.3, 0.2 (logs)
    const c = cands([Math.log(0.3), Math.log(0.5), Math.log(0.2)]);
    new TopPWarper(0.7).warp(c);
    assert.deepEqual(kept(c), [1]); // 0.5 ≤ 0.7 kept, 0.8 > 0.7 dropped
    const d = cands([Math.log(0.3), Math.log(0.5), Math.log(0.2)]);
    new TopPWarper(0.85).warp(d);
    assert.deepEqual(kept(d), [0, 1]);
    const e = cands([Math.log(0.3), Math.log(0.5), Math.log(0.2)]);
    new TopPWarper(0.1).warp(e);
    assert.deepEqual(kept(e), [1]);
  });

  it('the sampler is seeded, deterministic, follows the distribution, and only picks candidates', () => {
    const draw = (seed: number) => {
      const s = new CategoricalSampler(seed);
      return Array.from({ length: 2000 }, () => s.sample(cands([Math.log(0.7), -Infinity, Math.log(0.3)])));
    };
    const a = draw(5);
    assert.deepEqual(draw(5), a);
    assert.notDeepEqual(draw(6), a);
    assert.equal(a.includes(1), false);
    const share = a.filter((x) => x === 0).length / a.length;
    assert.ok(Math.abs(share - 0.7) < 0.05, `share of id 0: ${share}`);
  });
});

describe('TopKWarper.warpGuided (CFG fused into the top-k pass, the guided grid step)', () => {
  const V = 282_926;
  const START = V - 131_072;
  const rows = (seed: number) => {
    const r = mulberry32(seed);
    const row = () => Float32Array.from({ length: V }, () => (r() + r() + r() - 1.5) * 4);
    return { cond: row(), uncond: row() };
  };
  const same = (a: Candidates, b: Candidates) => {
    assert.equal(a.count, b.count);
    for (let i = 0; i < a.count; i++) {
      assert.equal(a.idAt(i), b.idAt(i), `id ${i}`);
      assert.equal(a.logits[i], b.logits[i], `score ${i}`);
    }
  };
  const both = (cfg: CfgCombine, k: number, cond: Float32Array, uncond: Float32Array, start = START, end = V) => {
    const fused = new Candidates(V);
    new TopKWarper(k).warpGuided(fused, cfg, cond, uncond, start, end);
    const plain = new Candidates(V);
    cfg.process(plain.logits, cond, uncond, start, end, 0);
    plain.setDense(start, end - start);
    new TopKWarper(k).warp(plain);
    same(fused, plain);
    return fused;
  };

  it("keeps exactly the candidates of CFG then top-k (ids, scores, order), at Emu3.5's preset sizes, exact or shifted CFG", () => {
    for (const [seed, cfg, k] of [[1, new CfgCombine(3), 5120], [2, new CfgCombine(5, true), 10240], [3, new CfgCombine(3), 7]] as const) {
      const { cond, uncond } = rows(seed);
      assert.ok(both(cfg, k, cond, uncond).count >= k);
    }
  });

  it('falls back to the two steps, with the same result, for small ranges and where the sampled bound is too high', () => {
    const { cond, uncond } = rows(4);
    both(new CfgCombine(3), 20, cond, uncond, START, START + 1000);
    // Every sampled id scores high, the rest low: the bound admits ~2048 ids, fewer than k.
    const n = V - START;
    const stride = n / 2048;
    const c2 = new Float32Array(V).fill(-5);
    for (let i = 0; i < 2048; i++) c2[START + Math.floor(i * stride)] = 50 + i * 1e-3;
    for (let i = 0; i < 6000; i++) c2[START + 7 + i * 13] = 10 + (i % 97);
    both(new CfgCombine(3), 5120, c2, new Float32Array(V));
  });
});
