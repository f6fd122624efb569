import assert from 'node:assert/strict';
import { imageFromRos } from '../../bridge/messages/imageFromRos.ts';
import type { ImageMsg } from '../../bridge/messages/rosTypes.ts';

const header = { stamp: { sec: 0, nanosec: 0 }, frame_id: 'c' };

/** A 2×2 image whose pixel (x,y) has R=10+x+2y, G=100+x+2y, B=200+x+2y, in `encoding`, with `pad` bytes per row. */
function encode(encoding: string, pad: number): ImageMsg {
  const bpp = { rgb8: 3, bgr8: 3, rgba8: 4, bgra8: 4, mono8: 1 }[encoding]!;
  const step = 2 * bpp + pad;
  const data = new Uint8Array(step * 2).fill(0xee);
  for (let y = 0; y < 2; y++) {
    for (let x = 0; x < 2; x++) {
      const v = x + 2 * y;
      const o = y * step + x * bpp;
      const px = { rgb8: [10 + v, 100 + v, 200 + v], bgr8: [200 + v, 100 + v, 10 + v], rgba8: [10 + v, 100 + v, 200 + v, 255], bgra8: [200 + v, 100 + v, 10 + v, 255], mono8: [50 + v] }[encoding]!;
      data.set(px, o);
    }
  }
  return { header, width: 2, height: 2, encoding, is_bigendian: 0, step, data };
}

describe('imageFromRos', () => {
  for (const encoding of ['rgb8', 'bgr8', 'rgba8', 'bgra8']) {
    for (const pad of [0, 3]) {
      it(`converts ${encoding} with ${pad} bytes of row padding to packed RGB`, () => {
        const img = imageFromRos(encode(encoding, pad));
        assert.equal(img.data.length, 12);
        assert.deepEqual([...img.data], [10, 100, 200, 11, 101, 201, 12, 102, 202, 13, 103, 203]);
      });
    }
  }

  it('expands mono8 to grey RGB honouring step', () => {
    const img = imageFromRos(encode('mono8', 2));
    assert.deepEqual([...img.data], [50, 50, 50, 51, 51, 51, 52, 52, 52, 53, 53, 53]);
  });

  it('returns a copy, not a view of the message buffer', () => {
    const msg = encode('rgb8', 0);
    const img = imageFromRos(msg);
    (msg.data as Uint8Array)[0] = 0;
    assert.equal(img.data[0], 10);
  });

  it('names the problem for each malformed image', () => {
    const ok = encode('rgb8', 0);
    assert.throws(() => imageFromRos({ ...ok, step: 5 }), /step 5 is shorter than a rgb8 row of 2 px \(6 bytes\)/);
    assert.throws(() => imageFromRos({ ...ok, data: new Uint8Array(11) }), /truncated: 11 bytes, expected step×height = 6×2 = 12/);
    assert.throws(() => imageFromRos({ ...ok, encoding: '16UC1' }), /unsupported image encoding '16UC1'/);
    assert.throws(() => imageFromRos({ ...ok, height: 0 }), /zero size \(2x0\)/);
    assert.throws(() => imageFromRos({ ...ok, width: 7680, height: 4320 }), /exceeds/);
    assert.throws(() => imageFromRos(ok, { maxPixels: 3 }), (e: any) => e.code === 'image_invalid');
  });
});
