import { InputError } from '../sdk/errors.ts';
import type { RgbImage } from '../sdk/image/RgbImage.ts';
import { decodeImage, encodePng } from '../sdk/image/codec.ts';
import type { Keyframe } from './Plan.ts';

/** Packed RGB8 → base64 PNG keyframe (lossless, so a round trip returns the same pixels). */
export async function encodeKeyframe(image: RgbImage): Promise<Keyframe> {
  const png = encodePng(image);
  return { width: image.width, height: image.height, encoding: 'png', data: Buffer.from(png).toString('base64') };
}

/** Base64 PNG keyframe → packed RGB8; an InputError names the mismatch when the PNG is not what it claims. */
export async function decodeKeyframe(keyframe: Keyframe): Promise<RgbImage> {
  const image = await decodeImage(Buffer.from(keyframe.data, 'base64'), { what: 'keyframe' });
  if (image.width !== keyframe.width || image.height !== keyframe.height) {
    throw new InputError(
      'image_invalid',
      `keyframe PNG is ${image.width}x${image.height}, but the keyframe says ${keyframe.width}x${keyframe.height}`,
    );
  }
  return image;
}
