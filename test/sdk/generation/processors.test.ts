import assert from 'node:assert/strict';
import { CfgCombine, logSumExp } from '../../../sdk/generation/processors/CfgCombine.ts';
import { TextModeMask } from '../../../sdk/generation/processors/TextModeMask.ts';
import { HeaderConstraint } from '../../../sdk/generation/processors/HeaderConstraint.ts';
import { GridConstraint } from '../../../sdk/generation/processors/GridConstraint.ts';
import { EMU35_GRAMMAR_IDS } from '../../../sdk/generation/GrammarIds.ts';
import { TOY } from './fixtures.ts';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, eps = 1e-5) =>
  Array.from(a).forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < eps, `at ${i}: ${x} vs ${b[i]}`));

describe('logits processors', () => {
  const cond = new Float32Array([2, 0, -1, 3]);
  const uncond = new Float32Array([0, 1, 1, 0]);
  const logSoftmax = (x: Float32Array) => Array.from(x, (v) => v - Math.log(Array.from(x).reduce((s, y) => s + Math.exp(y), 0)));

  it('CFG (exact) = logp_u + s·(logp_c − logp_u) over the full vocabulary', () => {
    const s = 3;
    const lc = logSoftmax(cond);
    const lu = logSoftmax(uncond);
    const expected = lc.map((c, i) => lu[i]! + s * (c - lu[i]!));
    const out = new Float32Array(4);
    new CfgCombine(s, true).process(out, cond, uncond);
    close(out, expected);
  });

  it('CFG (hot path) differs from exact by one constant, so softmax is identical', () => {
    const exact = new Float32Array(4);
    const fast = new Float32Array(4);
    new CfgCombine(5, true).process(exact, cond, uncond);
    new CfgCombine(5).process(fast, cond, uncond);
    const d = exact[0]! - fast[0]!;
    assert.ok(Math.abs(d) > 1e-3);
    close(exact.map((x, i) => x - fast[i]!), [d, d, d, d]);
    const sm = (x: Float32Array) => { const z = Array.from(x, Math.exp); const t = z.reduce((a, b) => a + b); return z.map((v) => v / t); };
    close(sm(exact), sm(fast));
  });

  it('CFG writes only the requested range, at an offset', () => {
    const out = new Float32Array(2).fill(99);
    new CfgCombine(2).process(out, cond, uncond, 2, 4, 0);
    close(out, [1 + 2 * (-1 - 1), 0 + 2 * 3]);
  });

  it('logSumExp is stable for large values', () => {
    assert.ok(Math.abs(logSumExp(new Float32Array([1000, 1000])) - (1000 + Math.log(2))) < 1e-3);
  });

  it('text mode masks exactly the visual ids', () => {
    const s = new Float32Array(TOY.vocabSize).fill(1);
    new TextModeMask(TOY.visualOffset).process(s);
    assert.equal(s.slice(0, TOY.visualOffset).every((x) => x === 1), true);
    assert.equal(s.slice(TOY.visualOffset).every((x) => x === -Infinity), true);
  });

  it('header constraint masks to the allowed set; grid constraint to visual ids', () => {
    const h = new HeaderConstraint(TOY);
    const s = new Float32Array(TOY.vocabSize).fill(1);
    h.process(s, [3, 4]);
    assert.deepEqual(Array.from(s).flatMap((x, i) => (x === 1 ? [i] : [])), [3, 4]);
    const g = new GridConstraint(TOY);
    const t = new Float32Array(TOY.vocabSize).fill(1);
    g.process(t);
    assert.equal(t.findIndex((x) => x === 1), TOY.visualOffset);
    assert.equal(g.forced(4, { rows: 3, cols: 3 }), TOY.eol);
    assert.equal(g.forced(12, { rows: 3, cols: 3 }), TOY.eoi);
    assert.equal(g.forced(5, { rows: 3, cols: 3 }), null);
    assert.deepEqual(new HeaderConstraint(EMU35_GRAMMAR_IDS).rule(3, [16, 9, 16]), { force: 16 });
    assert.deepEqual(new HeaderConstraint(EMU35_GRAMMAR_IDS).rule(4, [16, 9, 16]), { force: EMU35_GRAMMAR_IDS.img });
  });
});
