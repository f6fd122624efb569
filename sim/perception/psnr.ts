import { InputError } from '../../sdk/errors.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';

/** Peak signal-to-noise ratio of two same-size RGB8 images. @unit dB; Infinity when identical. */
export function psnr(a: RgbImage, b: RgbImage): number {
  if (a.width !== b.width || a.height !== b.height) {
    throw new InputError('image_invalid', `psnr: sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  }
  let se = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!;
    se += d * d;
  }
  if (se === 0) return Infinity;
  return 10 * Math.log10((255 * 255 * a.data.length) / se);
}
