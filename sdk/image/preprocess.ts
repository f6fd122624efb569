import sharp from 'sharp';
import type { RgbImage } from './RgbImage.ts';
import { InputError } from '../errors.ts';

export interface PixelNormalize {
  /** pixel value v maps to v/scale − shift */
  scale: number;
  shift: number;
}

/**
 * Resizes (bicubic: sharp's `cubic` kernel, standing in for PIL BICUBIC) and converts to the vision
 * encoder's input: float32 CHW, `v/scale − shift` (Emu3.5: v/127.5 − 1 → [−1, 1]).
 */
export async function toPixelValues(image: RgbImage, size: { width: number; height: number }, normalize: PixelNormalize): Promise<Float32Array> {
  const rgb = await resizeRgb(image, size);
  const plane = size.width * size.height;
  const out = new Float32Array(3 * plane);
  const { scale, shift } = normalize;
  for (let i = 0; i < plane; i++) {
    out[i] = rgb[3 * i]! / scale - shift;
    out[plane + i] = rgb[3 * i + 1]! / scale - shift;
    out[2 * plane + i] = rgb[3 * i + 2]! / scale - shift;
  }
  return out;
}

/** Packed RGB8 resized to `size`; returned as is when the size already matches. */
export async function resizeRgb(image: RgbImage, size: { width: number; height: number }): Promise<Uint8Array> {
  if (image.width === size.width && image.height === size.height) return image.data;
  const buf = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size.width, size.height, { kernel: 'cubic', fit: 'fill' })
    .raw()
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Inverse of the normalisation for decoder output: CHW → packed RGB8 via ((x+1)·127.5) clamped, as in Emu3.5's decode. */
export function fromPixelValues(data: Float32Array, width: number, height: number, normalize: PixelNormalize = { scale: 127.5, shift: 1 }): RgbImage {
  const plane = width * height;
  if (data.length !== 3 * plane) throw new InputError('input_invalid', `fromPixelValues: expected ${3 * plane} values for 3x${height}x${width}, got ${data.length}`);
  const out = new Uint8Array(3 * plane);
  const { scale, shift } = normalize;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      const v = (data[c * plane + i]! + shift) * scale;
      out[3 * i + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
    }
  }
  return { width, height, data: out };
}
