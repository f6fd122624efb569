import assert from 'node:assert/strict';
import { smartResize } from '../../../sdk/image/smartResize.ts';
import { InputError } from '../../../sdk/errors.ts';
import { golden, requireShared } from '../model/emu35Fixture.ts';

describe('smartResize', () => {
  it('matches every golden resize entry (size and token grid)', function () {
    requireShared(this);
    const cases = golden().resize;
    assert.ok(cases.length >= 4);
    for (const c of cases) {
      const out = smartResize(c.width, c.height, c.area);
      assert.deepEqual(out, { width: c.out_width, height: c.out_height }, `${c.width}x${c.height}@${c.area}`);
      assert.deepEqual([out.height / 16, out.width / 16], c.grid);
    }
  });

  it('follows the reference formula (1024×768 at 720² → 832×624)', () => {
    assert.deepEqual(smartResize(1024, 768, 518400), { width: 832, height: 624 });
    assert.deepEqual(smartResize(1000, 1000, 1048576), { width: 1024, height: 1024 });
  });

  it('always returns multiples of 16 near the requested area', () => {
    for (const [w, h] of [[640, 480], [1920, 1080], [300, 900], [17, 23]]) {
      const out = smartResize(w!, h!, 518400);
      assert.equal(out.width % 16, 0);
      assert.equal(out.height % 16, 0);
      assert.ok(Math.abs(out.width * out.height - 518400) / 518400 < 0.1, `${w}x${h} → ${out.width}x${out.height}`);
    }
  });

  it('rejects sizes that collapse to zero', () => {
    assert.throws(() => smartResize(100000, 10, 4096), (e: unknown) => e instanceof InputError && e.code === 'image_invalid');
    assert.throws(() => smartResize(0, 10, 4096), InputError);
  });

  it('rejects areas and sizes that are not positive finite numbers (a typed error, not a vips one later)', () => {
    for (const [w, h, area] of [[64, 64, Infinity], [64, 64, Number.NaN], [64, 64, -4096], [Infinity, 64, 4096], [64, Number.NaN, 4096]] as const) {
      assert.throws(() => smartResize(w, h, area), (e: unknown) => e instanceof InputError && e.code === 'image_invalid', `${w}x${h}@${area}`);
    }
  });
});
