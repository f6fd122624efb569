import assert from 'node:assert/strict';
import { CfgCombine, logSumExp } from '../../../sdk/generation/processors/CfgCombine.ts';
import { TextModeMask } from '../../../sdk/generation/processors/TextModeMask.ts';
import { HeaderConstraint } from '../../../sdk/generation/processors/HeaderConstraint.ts';
import { GridConstraint } from '../../../sdk/generation/processors/GridConstraint.ts';
import { EMU35_GRAMMAR_IDS } from '../../../sdk/generation/GrammarIds.ts';
import { RepetitionPenalty } from '../../../sdk/generation/processors/RepetitionPenalty.ts';
import { Candidates } from '../../../sdk/generation/Candidates.ts';
import type { LogitsContext } from '../../../sdk/generation/LogitsProcessor.ts';
import { InputError } from '../../../sdk/errors.ts';
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

  const ctxFor = (cond: Float32Array, over: Partial<LogitsContext> = {}): LogitsContext => ({ mode: 'text', cond, uncond: undefined, allow: [], tokens: [], ...over });
  const kept = (c: Candidates) => Array.from({ length: c.count }, (_, i) => [c.idAt(i), c.logits[i]!]);

  it('text mode keeps exactly the non-visual ids, with their scores', () => {
    const s = new Float32Array(TOY.vocabSize).map((_, i) => i);
    s[3] = -Infinity;
    const c = new Candidates(TOY.vocabSize);
    new TextModeMask(TOY.visualOffset).process(c, ctxFor(s));
    assert.deepEqual(kept(c), Array.from({ length: TOY.visualOffset }, (_, i) => [i, i]).filter(([i]) => i !== 3));
  });

  it('header constraint keeps the allowed set; grid constraint forces EOL/EOI and keeps the visual range', () => {
    const h = new HeaderConstraint(TOY);
    const s = new Float32Array(TOY.vocabSize).fill(1);
    const c = new Candidates(TOY.vocabSize);
    h.process(c, ctxFor(s, { mode: 'header', allow: [3, 4] }));
    assert.deepEqual(kept(c), [[3, 1], [4, 1]]);
    const g = new GridConstraint(TOY);
    g.process(c, ctxFor(s.map((_, i) => i), { mode: 'grid' }));
    assert.equal(c.count, TOY.vocabSize - TOY.visualOffset);
    assert.deepEqual(kept(c)[0], [TOY.visualOffset, TOY.visualOffset]);
    assert.equal(g.forced(4, { rows: 3, cols: 3 }), TOY.eol);
    assert.equal(g.forced(12, { rows: 3, cols: 3 }), TOY.eoi);
    assert.equal(g.forced(5, { rows: 3, cols: 3 }), null);
    assert.deepEqual(new HeaderConstraint(EMU35_GRAMMAR_IDS).rule(3, [16, 9, 16]), { force: 16 });
    assert.deepEqual(new HeaderConstraint(EMU35_GRAMMAR_IDS).rule(4, [16, 9, 16]), { force: EMU35_GRAMMAR_IDS.img });
  });

  it('grid constraint with CFG writes guided scores for the visual range only, densely', () => {
    const cnd = new Float32Array(TOY.vocabSize).map((_, i) => i % 5);
    const unc = new Float32Array(TOY.vocabSize).map((_, i) => i % 3);
    const c = new Candidates(TOY.vocabSize);
    new GridConstraint(TOY, new CfgCombine(3)).process(c, ctxFor(cnd, { mode: 'grid', uncond: unc }));
    assert.equal(c.denseStart, TOY.visualOffset);
    close(c.logits.subarray(0, c.count), Array.from({ length: c.count }, (_, i) => { const id = TOY.visualOffset + i; return unc[id]! + 3 * (cnd[id]! - unc[id]!); }));
  });

  it('repetition penalty (HF): divides positive and multiplies negative scores of generated ids only', () => {
    const c = new Candidates(8);
    const scores = new Float32Array([2, -2, 2, -2, 4, 0, 1, 1]);
    const rp = new RepetitionPenalty(2, 8);
    const tokens = [0, 1, 5];
    new TextModeMask(8).process(c, ctxFor(scores, { tokens }));
    rp.process(c, ctxFor(scores, { tokens }));
    assert.deepEqual(kept(c), [[0, 1], [1, -4], [2, 2], [3, -2], [4, 4], [5, 0], [6, 1], [7, 1]]);
    // incremental: one more generated id is picked up; a dense set (grid) is indexed by id
    tokens.push(7);
    c.logits.set([5, 5, 5]);
    c.setDense(5, 3);
    rp.process(c, ctxFor(scores, { mode: 'grid', tokens }));
    assert.deepEqual(kept(c), [[5, 2.5], [6, 5], [7, 2.5]]);
    // a new generation (a new tokens array) starts from an empty seen-set
    c.logits.set([5, 5, 5]);
    c.setDense(5, 3);
    rp.process(c, ctxFor(scores, { mode: 'grid', tokens: [6] }));
    assert.deepEqual(kept(c), [[5, 5], [6, 2.5], [7, 5]]);
    assert.throws(() => new RepetitionPenalty(0, 8), (e: unknown) => e instanceof InputError && e.code === 'input_invalid');
  });
});
