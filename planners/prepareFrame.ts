import { z } from 'zod';
import type { RgbImage } from '../sdk/image/RgbImage.ts';

/** How a camera frame is prepared before planning (a real camera is not the training render). */
export const FramePrepSchema = z
  .object({
    /**
     * `letterbox`: crop the uniform bars (the corner colour) a 4:3 or 16:9 camera puts around the
     * workspace. Off by default: on a frame without bars, a bare table edge of the bar colour would go too.
     * @default 'none'
     */
    crop: z.enum(['none', 'letterbox']).describe("crop uniform letterbox bars around the workspace ('letterbox') or not ('none')").default('none'),
    /**
     * Colour calibration: per-channel gains that bring the frame's median colour (the dominant
     * surface, the table) to this RGB, undoing brightness and white-balance drift. Absent: none.
     */
    whiteReference: z.tuple([z.number().min(1).max(255), z.number().min(1).max(255), z.number().min(1).max(255)]).describe('RGB the median colour of the frame is calibrated to').optional(),
  })
  .strict();
export type FramePrep = z.output<typeof FramePrepSchema>;

/** Bars differ from the corner colour by less than this (sum over channels), noise and JPEG included. */
const BAR_TOLERANCE = 60;

export function prepareFrame(frame: RgbImage, prep: FramePrep): RgbImage {
  let out = prep.crop === 'letterbox' ? cropLetterbox(frame) : frame;
  if (prep.whiteReference) out = calibrate(out, prep.whiteReference);
  return out;
}

/** The bounding box of the pixels that differ from the bars (the corner colour); the frame itself if none do. */
function cropLetterbox(frame: RgbImage): RgbImage {
  const { width, height, data } = frame;
  const bar = [data[0]!, data[1]!, data[2]!];
  const differs = (x: number, y: number) => {
    const i = (y * width + x) * 3;
    return Math.abs(data[i]! - bar[0]!) + Math.abs(data[i + 1]! - bar[1]!) + Math.abs(data[i + 2]! - bar[2]!) > BAR_TOLERANCE;
  };
  // A column or row belongs to the content when most of its pixels differ from the bar colour.
  const colContent = (x: number) => {
    let n = 0;
    for (let y = 0; y < height; y += 2) if (differs(x, y)) n++;
    return n > height / 4;
  };
  const rowContent = (y: number) => {
    let n = 0;
    for (let x = 0; x < width; x += 2) if (differs(x, y)) n++;
    return n > width / 4;
  };
  let x0 = 0;
  let x1 = width - 1;
  let y0 = 0;
  let y1 = height - 1;
  while (x0 < x1 && !colContent(x0)) x0++;
  while (x1 > x0 && !colContent(x1)) x1--;
  while (y0 < y1 && !rowContent(y0)) y0++;
  while (y1 > y0 && !rowContent(y1)) y1--;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  if (w === width && h === height) return frame;
  if (w < width / 4 || h < height / 4) return frame;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) out.set(data.subarray(((y0 + y) * width + x0) * 3, ((y0 + y) * width + x0 + w) * 3), y * w * 3);
  return { width: w, height: h, data: out };
}

/** Per-channel gains mapping each channel's median to the reference. */
function calibrate(frame: RgbImage, reference: readonly [number, number, number]): RgbImage {
  const gains = [0, 1, 2].map((ch) => {
    const hist = new Uint32Array(256);
    for (let i = ch; i < frame.data.length; i += 3) hist[frame.data[i]!]!++;
    let seen = 0;
    const half = frame.data.length / 6;
    let median = 0;
    for (; median < 255 && seen + hist[median]! < half; median++) seen += hist[median]!;
    return reference[ch]! / Math.max(1, median);
  });
  const out = new Uint8Array(frame.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.round(frame.data[i]! * gains[i % 3]!));
  return { width: frame.width, height: frame.height, data: out };
}
