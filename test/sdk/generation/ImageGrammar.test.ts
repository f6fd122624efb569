import assert from 'node:assert/strict';
import { ImageGrammar, type GrammarStep } from '../../../sdk/generation/ImageGrammar.ts';
import { EMU35_GRAMMAR_IDS as E } from '../../../sdk/generation/GrammarIds.ts';
import { headerTokens, lastHeaderGrid } from '../../../sdk/generation/headerGrid.ts';
import { resolveImageSize } from '../../../sdk/generation/resolveImageSize.ts';
import { InputError } from '../../../sdk/errors.ts';

const VIS = E.visualOffset + 7;

/** Drives the grammar, sampling `pick(step)` where not forced; returns the emitted tokens. */
function drive(g: ImageGrammar, n: number, pick: (s: GrammarStep) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = g.next();
    const t = s.kind === 'force' ? s.token : pick(s);
    out.push(t);
    g.push(t);
  }
  return out;
}

describe('ImageGrammar (Emu3.5 ids)', () => {
  it('forces a fixed header digit by digit, then IMG, EOL every W+1, EOI at H·(W+1)', () => {
    const g = new ImageGrammar(E, { rows: 3, cols: 12 });
    g.push(E.boi);
    const toks = drive(g, 5 + 3 * 13, (s) => {
      assert.equal(s.kind, 'grid');
      return VIS;
    });
    assert.deepEqual(toks.slice(0, 5), [...'3*12'].map((c) => (c === '*' ? 9 : 15 + Number(c))).concat(E.img));
    const grid = toks.slice(5);
    const eolAt = grid.flatMap((t, i) => (t === E.eol ? [i + 1] : []));
    assert.deepEqual(eolAt, [13, 26]);
    assert.equal(grid.at(-1), E.eoi);
    assert.equal(grid.length, 3 * 13);
    assert.equal(g.mode, 'text');
  });

  it('auto header: digits 1–9 at hw 1 and 4, 0–9 at 2 and 5, * at 3, then IMG', () => {
    const g = new ImageGrammar(E);
    g.push(E.boi);
    const allowed: (readonly number[])[] = [];
    const toks = drive(g, 6, (s) => {
      assert.equal(s.kind, 'header');
      const allow = (s as { allow: readonly number[] }).allow;
      allowed.push(allow);
      return allow[allow.length - 1]!;
    });
    assert.deepEqual(allowed[0], [16, 17, 18, 19, 20, 21, 22, 23, 24]);
    assert.deepEqual(allowed[1], [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    assert.deepEqual(allowed[2], [9]);
    assert.deepEqual(allowed[3], allowed[0]);
    assert.deepEqual(allowed[4], allowed[1]);
    assert.equal(toks[5], E.img);
  });

  it('replays the first image header for later images (force-same-size)', () => {
    const g = new ImageGrammar(E);
    g.push(E.boi);
    const first = drive(g, 6, (s) => (s as { allow: readonly number[] }).allow[0]!); // "10*10"
    drive(g, 10 * 11, () => VIS);
    assert.equal(g.mode, 'text');
    g.push(E.boi);
    const second = drive(g, 6, () => assert.fail('header must be forced'));
    assert.deepEqual(second, first);
  });

  it('inherits the last reference grid from the unconditional ids; precedence grid > aspect > reference', () => {
    const ref = (r: number, c: number) => [E.boi, ...headerTokens({ rows: r, cols: c }, E), E.img, VIS, E.eoi];
    const uncond = [1, 2, ...ref(39, 52), ...ref(45, 45), 3];
    assert.deepEqual(lastHeaderGrid(uncond, E), { rows: 45, cols: 45 });
    const presets = { '1:1': [64, 64] as const };
    const base = { aspectPresets: presets, uncondIds: uncond, ids: E };
    assert.deepEqual(resolveImageSize(base), { rows: 45, cols: 45 });
    assert.deepEqual(resolveImageSize({ ...base, aspect: '1:1' }), { rows: 64, cols: 64 });
    assert.deepEqual(resolveImageSize({ ...base, aspect: '1:1', grid: [7, 9] }), { rows: 7, cols: 9 });
    assert.equal(resolveImageSize({ ...base, uncondIds: [1, 2, 3], aspect: 'auto' }), undefined);
    assert.throws(() => resolveImageSize({ ...base, aspect: '5:4' }), (e: unknown) => e instanceof InputError && /unknown aspect '5:4'/.test(e.message));
  });

  it('a grid (explicit, preset or inherited) whose image cannot fit in the room the context leaves is context_overflow', () => {
    const presets = { '1:1': [64, 64] as const };
    const base = { aspectPresets: presets, uncondIds: [1, 2, 3], ids: E };
    const fits = (e: unknown) => e instanceof InputError && e.code === 'context_overflow';
    // 7×9 is 7·10 + 2 + 3 = 75 tokens: it fits in 75, not in 74.
    assert.deepEqual(resolveImageSize({ ...base, grid: [7, 9], room: 75 }), { rows: 7, cols: 9 });
    assert.throws(() => resolveImageSize({ ...base, grid: [7, 9], room: 74 }), (e: unknown) => fits(e) && /7×9 image is 75 tokens, but the context leaves 74/.test((e as Error).message));
    assert.throws(() => resolveImageSize({ ...base, aspect: '1:1', room: 1000 }), fits);
    const ref = [E.boi, ...headerTokens({ rows: 45, cols: 45 }, E), E.img, VIS, E.eoi];
    assert.throws(() => resolveImageSize({ ...base, uncondIds: ref, room: 2000 }), fits);
    assert.equal(resolveImageSize({ ...base, aspect: 'auto', room: 10 }), undefined, 'auto: the model picks a size');
  });
});
