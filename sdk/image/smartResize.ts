import { InputError } from '../errors.ts';

/**
 * Emu3.5's `smart_resize`: keep the aspect ratio, scale to about `area` pixels, then round each side to the
 * nearest multiple of `factor` (`(x + 8) // 16 * 16`). No min/max clamp, as in the reference.
 * @example smartResize(1024, 768, 518400) // { width: 832, height: 624 } → grid 39×52
 * @unit px
 */
export function smartResize(width: number, height: number, area: number, factor = 16): { width: number; height: number } {
  // NaN fails every comparison and Infinity would resize to an Infinity-pixel image: both are refused here.
  if (![width, height, area].every((x) => Number.isFinite(x) && x > 0)) {
    throw new InputError('image_invalid', `smartResize needs positive finite sizes, got ${width}x${height} at area ${area}`);
  }
  const aspect = width / height;
  const h = Math.trunc(Math.sqrt(area / aspect));
  const w = Math.trunc(h * aspect);
  const round = (x: number) => Math.floor((x + factor / 2) / factor) * factor;
  const out = { width: round(w), height: round(h) };
  if (out.width === 0 || out.height === 0) {
    throw new InputError('image_invalid', `Image ${width}x${height} is too elongated for area ${area}: it resizes to ${out.width}x${out.height}`);
  }
  return out;
}
