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
