import sharp from 'sharp';
import { InputError } from '../sdk/errors.ts';
import type { RgbImage } from '../sdk/image/RgbImage.ts';
import type { Keyframe } from './Plan.ts';

/** Packed RGB8 → base64 PNG keyframe (lossless, so a round trip returns the same pixels). */
export async function encodeKeyframe(image: RgbImage): Promise<Keyframe> {
  const png = await encodePng(image);
  return { width: image.width, height: image.height, encoding: 'png', data: Buffer.from(png).toString('base64') };
}

/** Packed RGB8 → PNG bytes. */
export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  const buf = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Base64 PNG keyframe → packed RGB8; an InputError names the mismatch when the PNG is not what it claims. */
export async function decodeKeyframe(keyframe: Keyframe): Promise<RgbImage> {
  const image = await decodeEncodedImage(Buffer.from(keyframe.data, 'base64'), 'keyframe');
  if (image.width !== keyframe.width || image.height !== keyframe.height) {
    throw new InputError(
      'image_invalid',
      `keyframe PNG is ${image.width}x${image.height}, but the keyframe says ${keyframe.width}x${keyframe.height}`,
    );
  }
  return image;
}

/**
 * PNG/JPEG bytes → packed RGB8 (alpha dropped, grey expanded). `maxPixels` guards against
 * decompression bombs before any pixel is decoded.
 */
export async function decodeEncodedImage(bytes: Uint8Array, what: string, maxPixels = 7680 * 4320): Promise<RgbImage> {
  try {
    const img = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' });
    const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    throw new InputError('image_invalid', `${what}: cannot decode image (${(err as Error).message})`, { cause: err });
  }
}
