import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage, encodePng, readImageFile, writePng } from '../../../sdk/image/codec.ts';
import { InputError } from '../../../sdk/errors.ts';
import type { RgbImage } from '../../../sdk/image/RgbImage.ts';

function gradient(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set([i % 256, (i * 7) % 256, (i * 13) % 256], i * 3);
  return { width: w, height: h, data };
}

describe('image codec', () => {
  it('PNG round-trips losslessly', async () => {
    const img = gradient(17, 9);
    const png = encodePng(img);
    assert.ok(Buffer.isBuffer(png), 'encodePng is synchronous');
    assert.deepEqual(await decodeImage(png), img);
  });

  it('encodePng decodes to the same pixels as a PNG written by sharp', async () => {
    const img = gradient(33, 7);
    const bySharp = await sharp(img.data, { raw: { width: 33, height: 7, channels: 3 } }).png().toBuffer();
    assert.deepEqual(await decodeImage(encodePng(img)), await decodeImage(bySharp));
  });

  it('encodePng refuses a buffer of the wrong size with image_invalid', () => {
    assert.throws(() => encodePng({ width: 4, height: 4, data: new Uint8Array(10) }), (e: unknown) => e instanceof InputError && e.code === 'image_invalid' && /4x4 needs 48 bytes, has 10/.test(e.message));
  });

  it('drops alpha and expands grey to RGB', async () => {
    const rgba = await sharp(Buffer.from([10, 20, 30, 40, 50, 60, 70, 80]), { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
    assert.deepEqual(Array.from((await decodeImage(rgba)).data), [10, 20, 30, 50, 60, 70]);
    const grey = await sharp(Buffer.from([5, 200]), { raw: { width: 2, height: 1, channels: 1 } }).png().toBuffer();
    assert.deepEqual(Array.from((await decodeImage(grey)).data), [5, 5, 5, 200, 200, 200]);
  });

  it('decodes JPEG and WebP', async () => {
    const img = gradient(32, 16);
    const raw = { raw: { width: 32, height: 16, channels: 3 as const } };
    for (const bytes of [await sharp(img.data, raw).jpeg().toBuffer(), await sharp(img.data, raw).webp().toBuffer()]) {
      const out = await decodeImage(bytes);
      assert.deepEqual([out.width, out.height, out.data.length], [32, 16, 32 * 16 * 3]);
    }
  });

  it('garbage bytes → InputError image_invalid with a clear message', async () => {
    await assert.rejects(decodeImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), (e: unknown) => e instanceof InputError && e.code === 'image_invalid' && /Cannot decode image \(9 bytes, starts 0x0102030405060708\)/.test(e.message));
  });

  it('writePng / readImageFile round-trip; missing file names the path', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'emu-codec-'));
    const file = path.join(dir, 'sub', 'x.png');
    const img = gradient(5, 4);
    await writePng(file, img);
    assert.deepEqual(await readImageFile(file), img);
    await assert.rejects(readImageFile(path.join(dir, 'nope.png')), (e: unknown) => e instanceof InputError && e.message.includes('nope.png'));
  });
});
