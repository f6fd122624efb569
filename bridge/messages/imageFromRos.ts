import { InputError } from '../../sdk/errors.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { decodeImage } from '../../sdk/image/codec.ts';
import type { CompressedImageMsg, ImageMsg } from './rosTypes.ts';

export interface FrameLimits {
  /** Largest accepted frame; 8K (7680×4320) is refused by default. @default 3840*2160 @unit px */
  maxPixels: number;
}
export const DEFAULT_FRAME_LIMITS: FrameLimits = { maxPixels: 3840 * 2160 };

/** Channel order of each supported raw encoding: source byte offsets of R, G, B and bytes per pixel. */
const LAYOUTS: Record<string, { r: number; g: number; b: number; bpp: number }> = {
  rgb8: { r: 0, g: 1, b: 2, bpp: 3 },
  bgr8: { r: 2, g: 1, b: 0, bpp: 3 },
  rgba8: { r: 0, g: 1, b: 2, bpp: 4 },
  bgra8: { r: 2, g: 1, b: 0, bpp: 4 },
  mono8: { r: 0, g: 0, b: 0, bpp: 1 },
};
export const SUPPORTED_RAW_ENCODINGS = Object.keys(LAYOUTS);

/**
 * `sensor_msgs/msg/Image` → packed RGB8, honouring `step` row padding. Throws an InputError
 * (`image_invalid`) naming what is wrong: zero size, too large, unknown encoding, step shorter than a
 * row, or data shorter than `step × height`.
 */
export function imageFromRos(msg: ImageMsg, limits: FrameLimits = DEFAULT_FRAME_LIMITS): RgbImage {
  const convert = checkRawImage(msg, limits);
  return { width: msg.width, height: msg.height, data: convert() };
}

/**
 * Validates a raw image now (cheap: header fields and lengths) and converts its pixels only when
 * `data` is first read. A camera's frames are mostly replaced before any plan looks at them; a 4K
 * bgr8 conversion costs tens of milliseconds on the main thread, so only the frames a plan takes pay it.
 */
export function lazyImageFromRos(msg: ImageMsg, limits: FrameLimits = DEFAULT_FRAME_LIMITS): RgbImage {
  const convert = checkRawImage(msg, limits);
  let data: Uint8Array | undefined;
  return {
    width: msg.width,
    height: msg.height,
    get data() {
      return (data ??= convert());
    },
  };
}

/** Throws on a bad raw image; returns its conversion to packed RGB8. */
function checkRawImage(msg: ImageMsg, limits: FrameLimits): () => Uint8Array {
  const { width, height, step, encoding } = msg;
  const data = msg.data as Uint8Array;
  checkSize(width, height, limits);
  const layout = LAYOUTS[encoding];
  if (!layout) throw new InputError('image_invalid', `unsupported image encoding '${encoding}' (supported: ${SUPPORTED_RAW_ENCODINGS.join(', ')})`);
  const rowBytes = width * layout.bpp;
  if (step < rowBytes) throw new InputError('image_invalid', `step ${step} is shorter than a ${encoding} row of ${width} px (${rowBytes} bytes)`);
  if (data.length < step * height) {
    throw new InputError('image_invalid', `image data is truncated: ${data.length} bytes, expected step×height = ${step}×${height} = ${step * height}`);
  }
  if (encoding === 'rgb8' && step === rowBytes) return () => data.slice(0, rowBytes * height);
  return () => convertRaw(data, width, height, step, layout);
}

function convertRaw(data: Uint8Array, width: number, height: number, step: number, layout: (typeof LAYOUTS)[string]): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  const { r, g, b, bpp } = layout;
  for (let y = 0; y < height; y++) {
    let src = y * step;
    let dst = y * width * 3;
    for (let x = 0; x < width; x++, src += bpp, dst += 3) {
      out[dst] = data[src + r]!;
      out[dst + 1] = data[src + g]!;
      out[dst + 2] = data[src + b]!;
    }
  }
  return out;
}

/** `sensor_msgs/msg/CompressedImage` (JPEG or PNG, recognised by magic bytes) → packed RGB8. */
export async function imageFromCompressedRos(msg: CompressedImageMsg, limits: FrameLimits = DEFAULT_FRAME_LIMITS): Promise<RgbImage> {
  const data = msg.data as Uint8Array;
  const kind = sniffFormat(data);
  if (!kind) {
    throw new InputError('image_invalid', `compressed image (format '${msg.format}', ${data.length} bytes) is neither JPEG nor PNG`);
  }
  const image = await decodeImage(data, { what: `${kind} compressed image`, maxPixels: limits.maxPixels });
  checkSize(image.width, image.height, limits);
  return image;
}

export function sniffFormat(data: Uint8Array): 'png' | 'jpeg' | undefined {
  if (data.length >= 8 && data[0] === 0x89 && data[1] === 0x50 && data[2] === 0x4e && data[3] === 0x47) return 'png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpeg';
  return undefined;
}

function checkSize(width: number, height: number, limits: FrameLimits): void {
  if (width <= 0 || height <= 0) throw new InputError('image_invalid', `image has zero size (${width}x${height})`);
  if (width * height > limits.maxPixels) {
    throw new InputError('image_invalid', `image ${width}x${height} (${width * height} px) exceeds the ${limits.maxPixels} px limit`);
  }
}
