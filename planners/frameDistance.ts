import type { RgbImage } from '../sdk/image/RgbImage.ts';

/** How far a reached frame is from a predicted keyframe: 0 = identical, 1 = opposite. */
export type FrameComparator = (reached: RgbImage, keyframe: RgbImage) => number;

/**
 * Default comparator: mean absolute RGB difference on a `size`×`size` nearest-neighbour thumbnail
 * of both images, in [0, 1]. Cheap, size-independent, and blind to sub-thumbnail detail by design:
 * it catches a scene that went wrong, not a pixel that moved.
 */
export function frameDistance(reached: RgbImage, keyframe: RgbImage, size = 32): number {
  let sum = 0;
  for (let y = 0; y < size; y++) {
    const ya = Math.floor(((y + 0.5) * reached.height) / size);
    const yb = Math.floor(((y + 0.5) * keyframe.height) / size);
    for (let x = 0; x < size; x++) {
      const a = (ya * reached.width + Math.floor(((x + 0.5) * reached.width) / size)) * 3;
      const b = (yb * keyframe.width + Math.floor(((x + 0.5) * keyframe.width) / size)) * 3;
      sum += Math.abs(reached.data[a]! - keyframe.data[b]!);
      sum += Math.abs(reached.data[a + 1]! - keyframe.data[b + 1]!);
      sum += Math.abs(reached.data[a + 2]! - keyframe.data[b + 2]!);
    }
  }
  return sum / (size * size * 3 * 255);
}

/**
 * The worst region instead of the mean: both frames on a `size`×`size` thumbnail, each channel less
 * its median (a global brightness or white-balance offset is not a scene change), then the mean
 * absolute difference in each of `patches`×`patches` regions; the distance is the largest. One block
 * moved changes two regions of 64 and the whole-frame mean by about 1/32: this sees it.
 */
export function patchDistance(reached: RgbImage, keyframe: RgbImage, size = 32, patches = 8): number {
  const a = thumbnail(reached, size);
  const b = thumbnail(keyframe, size);
  const step = size / patches;
  let worst = 0;
  for (let py = 0; py < patches; py++) {
    for (let px = 0; px < patches; px++) {
      let sum = 0;
      for (let y = py * step; y < (py + 1) * step; y++) {
        for (let x = px * step; x < (px + 1) * step; x++) {
          const i = (y * size + x) * 3;
          sum += Math.abs(a[i]! - b[i]!) + Math.abs(a[i + 1]! - b[i + 1]!) + Math.abs(a[i + 2]! - b[i + 2]!);
        }
      }
      worst = Math.max(worst, sum / (step * step * 3 * 255));
    }
  }
  return worst;
}

/** An area-averaged `size`×`size` thumbnail (every source pixel counts: a small object is not sampled away), each channel less its median. */
function thumbnail(image: RgbImage, size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  const count = new Float32Array(size * size);
  for (let y = 0; y < image.height; y++) {
    const ty = Math.min(size - 1, Math.floor((y * size) / image.height));
    for (let x = 0; x < image.width; x++) {
      const t = ty * size + Math.min(size - 1, Math.floor((x * size) / image.width));
      const s = (y * image.width + x) * 3;
      out[t * 3] += image.data[s]!;
      out[t * 3 + 1] += image.data[s + 1]!;
      out[t * 3 + 2] += image.data[s + 2]!;
      count[t]!++;
    }
  }
  for (let t = 0; t < count.length; t++) for (let ch = 0; ch < 3; ch++) out[t * 3 + ch] = out[t * 3 + ch]! / Math.max(1, count[t]!);
  for (let ch = 0; ch < 3; ch++) {
    const values = Array.from({ length: size * size }, (_, i) => out[i * 3 + ch]!).sort((p, q) => p - q);
    const median = values[values.length >> 1]!;
    for (let i = ch; i < out.length; i += 3) out[i] = out[i]! - median;
  }
  return out;
}
