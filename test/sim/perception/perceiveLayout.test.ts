import assert from 'node:assert/strict';
import { layoutAgreement } from '../../../sim/perception/layoutAgreement.ts';
import { perceiveLayout } from '../../../sim/perception/perceiveLayout.ts';
import { psnr } from '../../../sim/perception/psnr.ts';
import { renderLayout } from '../../../sim/render/renderLayout.ts';
import { BLOCK_COLOURS, BOWL_COLOURS } from '../../../sim/world/colours.ts';
import { emptyLayout, layoutKey, type Layout } from '../../../sim/world/Layout.ts';
import { Prng } from '../../../sim/world/Prng.ts';
import { basicLayout } from '../testScenes.ts';

/** Every colour at every stack level, alone and in every bowl, plus repeated colours in one stack. */
function catalogue(): Layout {
  const layout = emptyLayout();
  let i = 0;
  const put = (cell: Layout[number][number]) => {
    layout[Math.floor(i / 8)]![i % 8] = cell;
    i++;
  };
  for (const [k, colour] of BLOCK_COLOURS.entries()) {
    const other = BLOCK_COLOURS[(k + 1) % 6]!;
    const third = BLOCK_COLOURS[(k + 2) % 6]!;
    put({ bowl: null, stack: [colour] });
    put({ bowl: null, stack: [other, colour] });
    put({ bowl: null, stack: [other, third, colour] });
    put({ bowl: BOWL_COLOURS[k % 3]!, stack: [colour] });
    put({ bowl: BOWL_COLOURS[(k + 1) % 3]!, stack: [third, other, colour] });
  }
  for (const bowl of BOWL_COLOURS) put({ bowl, stack: [] });
  put({ bowl: null, stack: ['red', 'red', 'red'] });
  return layout;
}

describe('perceiveLayout', () => {
  it('reads every block colour at every level, every bowl and stacks in bowls (128×128)', () => {
    const layout = catalogue();
    assert.equal(layoutKey(perceiveLayout(renderLayout(layout))), layoutKey(layout));
  });

  it('reads 640×480 and 256×256 frames', () => {
    const layout = catalogue();
    for (const size of [{ width: 640, height: 480 }, { width: 256, height: 256 }]) {
      assert.equal(layoutKey(perceiveLayout(renderLayout(layout, size))), layoutKey(layout), `${size.width}×${size.height}`);
    }
  });

  it('is robust to small noise', () => {
    const layout = catalogue();
    const frame = renderLayout(layout);
    const rng = new Prng(7);
    const noisy = { ...frame, data: frame.data.map((v) => Math.max(0, Math.min(255, v + Math.round((rng.next() - 0.5) * 50)))) };
    assert.equal(layoutKey(perceiveLayout(noisy)), layoutKey(layout));
    assert.ok(psnr(frame, noisy) < 40 && psnr(frame, noisy) > 15);
  });

  it('layoutAgreement counts equal slots; psnr is Infinity for identical frames', () => {
    const a = basicLayout();
    const b = basicLayout();
    b[1]![1] = null;
    assert.equal(layoutAgreement(a, a), 1);
    assert.equal(layoutAgreement(a, b), 63 / 64);
    const frame = renderLayout(a);
    assert.equal(psnr(frame, frame), Infinity);
    assert.ok(Number.isFinite(psnr(frame, renderLayout(b))));
  });
});
