import assert from 'node:assert/strict';
import { renderLayout } from '../../../sim/render/renderLayout.ts';
import { slotPatch, SLOT_PX } from '../../../sim/render/slotPatch.ts';
import { BORDER_RGB, PALETTE, TABLE_RGB } from '../../../sim/world/colours.ts';
import { basicLayout } from '../testScenes.ts';

describe('renderLayout', () => {
  it('aligns slot (r,c) with pixels [16r,16r+16)×[16c,16c+16) at 128×128', () => {
    const layout = basicLayout();
    const frame = renderLayout(layout);
    assert.equal(frame.width, 128);
    for (const [r, c] of [[1, 1], [2, 5], [4, 4], [3, 3]] as const) {
      const patch = slotPatch(layout[r]![c] ?? null);
      for (let y = 0; y < SLOT_PX; y++) {
        const row = frame.data.subarray(((r * 16 + y) * 128 + c * 16) * 3, ((r * 16 + y) * 128 + c * 16 + 16) * 3);
        assert.deepEqual(row, patch.subarray(y * 48, y * 48 + 48), `slot ${r},${c} row ${y}`);
      }
    }
  });

  it('draws a patch from the slot contents only (bowl ring, stack rings)', () => {
    const patch = slotPatch({ bowl: 'red', stack: ['green', 'blue'] });
    const at = (y: number, x: number) => [...patch.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3)];
    assert.deepEqual(at(1, 8), [...PALETTE.red]);
    assert.deepEqual(at(3, 8), [...PALETTE.green]);
    assert.deepEqual(at(5, 8), [...PALETTE.blue]);
    assert.deepEqual(at(7, 7), [...TABLE_RGB]);
    assert.deepEqual(at(0, 0), [...TABLE_RGB]);
  });

  it('is deterministic and letterboxes 640×480', () => {
    const a = renderLayout(basicLayout(), { width: 640, height: 480 });
    const b = renderLayout(basicLayout(), { width: 640, height: 480 });
    assert.deepEqual(a.data, b.data);
    assert.deepEqual([...a.data.subarray(0, 3)], [...BORDER_RGB]);
    const mid = (240 * 640 + 320) * 3;
    assert.notDeepEqual([...a.data.subarray(mid, mid + 3)], [...BORDER_RGB]);
  });

  it('rejects sizes that are not multiples of 16', () => {
    assert.throws(() => renderLayout(basicLayout(), { width: 100, height: 128 }), /multiples of 16/);
  });
});
