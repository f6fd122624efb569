import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { InputError } from '../errors.ts';
import { encodePng } from './encodePng.ts';
import type { RgbImage } from './RgbImage.ts';

export { fromPixelValues } from './preprocess.ts';

export interface DecodeImageOptions {
  /** Refuse images with more pixels than this before decoding them (decompression bombs). @default 7680*4320 */
  maxPixels?: number;
  /** What the bytes are, for the error message (e.g. a file name or a topic). */
  what?: string;
}

/**
 * Decodes PNG / JPEG / WebP (anything libvips reads) to packed RGB8: alpha dropped, grey expanded,
 * no EXIF rotation (the reference's `Image.open(...).convert('RGB')` does not rotate either).
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: options.maxPixels ?? 7680 * 4320 })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    const head = Buffer.from(bytes.subarray(0, 8)).toString('hex');
    const what = options.what ? `${options.what}: ` : '';
    throw new InputError('image_invalid', `${what}Cannot decode image (${bytes.length} bytes, starts 0x${head}): ${(err as Error).message}`, { cause: err });
  }
}

export { encodePng };

export async function readImageFile(file: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new InputError('image_invalid', `Cannot read image file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await decodeImage(bytes);
  } catch (err) {
    throw new InputError('image_invalid', `${file}: ${(err as Error).message}`, { cause: err });
  }
}

export async function writePng(file: string, img: RgbImage): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, encodePng(img));
}
