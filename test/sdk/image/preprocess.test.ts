import assert from 'node:assert/strict';
import path from 'node:path';
import { fromPixelValues, toPixelValues } from '../../../sdk/image/preprocess.ts';
import { readImageFile } from '../../../sdk/image/codec.ts';
import { smartResize } from '../../../sdk/image/smartResize.ts';
import { createRgbImage } from '../../../sdk/image/RgbImage.ts';
import { requireShared, SHARED_EMU35 } from '../model/emu35Fixture.ts';

const NORM = { scale: 127.5, shift: 1 };

describe('toPixelValues / fromPixelValues', () => {
  it('ref_0.png → CHW float32 in [-1,1] at the smart_resize size', async function () {
    requireShared(this);
    const img = await readImageFile(path.join(SHARED_EMU35, 'ref_0.png'));
    assert.deepEqual([img.width, img.height], [768, 496]);
    const size = smartResize(img.width, img.height, 518400);
    const px = await toPixelValues(img, size, NORM);
    assert.equal(px.length, 3 * size.width * size.height);
    let min = Infinity;
    let max = -Infinity;
    for (const v of px) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.ok(min >= -1 && max <= 1, `range ${min}..${max}`);
    assert.ok(max - min > 1, 'a real photo spans much of the range');
    // Planes are CHW: channel means of the resized image equal those of the source (bicubic keeps the mean).
    const plane = size.width * size.height;
    for (let c = 0; c < 3; c++) {
      let src = 0;
      for (let i = c; i < img.data.length; i += 3) src += img.data[i]!;
      const srcMean = src / (img.width * img.height) / 127.5 - 1;
      let dst = 0;
      for (let i = 0; i < plane; i++) dst += px[c * plane + i]!;
      assert.ok(Math.abs(dst / plane - srcMean) < 0.02, `channel ${c}: ${dst / plane} vs ${srcMean}`);
    }
  });

  it('normalises exactly when no resize is needed', async () => {
    const img = createRgbImage(2, 1);
    img.data.set([0, 255, 51, 255, 0, 204]);
    const px = await toPixelValues(img, { width: 2, height: 1 }, NORM);
    // R plane, G plane, B plane
    assert.deepEqual(Array.from(px, (v) => Math.round(v * 1000) / 1000), [-1, 1, 1, -1, -0.6, 0.6]);
  });

  it('fromPixelValues inverts toPixelValues (truncating, like the reference) and clamps', async () => {
    const img = createRgbImage(3, 2);
    img.data.set([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 250, 254, 255]);
    const px = await toPixelValues(img, { width: 3, height: 2 }, NORM);
    const back = fromPixelValues(px, 3, 2, NORM);
    assert.deepEqual([back.width, back.height], [3, 2]);
    back.data.forEach((v, i) => assert.ok(img.data[i]! - v <= 1 && img.data[i]! - v >= 0, `byte ${i}: ${v} vs ${img.data[i]}`));
    assert.deepEqual(Array.from(fromPixelValues(new Float32Array([0.25, -0.5, 0.75]), 1, 1).data), [159, 63, 223]);
    const wild = fromPixelValues(new Float32Array([-3, 3, 0]), 1, 1);
    assert.deepEqual(Array.from(wild.data), [0, 255, 127]);
  });
});
