import sharp from 'sharp';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { renderLayout } from '../render/renderLayout.ts';
import type { Layout } from '../world/Layout.ts';
import type { Prng } from '../world/Prng.ts';
import type { CameraModel } from '../tasks/suites.ts';

/** A `sensor_msgs/CompressedImage` payload as a camera driver publishes it. */
export interface CompressedFrame {
  format: 'jpeg';
  data: Uint8Array;
}

/**
 * What a real camera makes of the table (the `camera` suite): the table letterboxed into a 640×480
 * frame and shifted by the model's offset, then brightness and white-balance gains, Gaussian sensor
 * noise, and JPEG compression at the model's quality. The judge never sees this: it reads the state.
 */
export async function captureFrame(layout: Layout, camera: CameraModel, rng: Prng): Promise<CompressedFrame> {
  const { width, height } = camera;
  const clean = renderLayout(layout, { width, height });
  const out = new Uint8Array(width * height * 3);
  const [dx, dy] = camera.offset;
  for (let y = 0; y < height; y++) {
    const sy = Math.min(height - 1, Math.max(0, y - dy));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(width - 1, Math.max(0, x - dx));
      const src = (sy * width + sx) * 3;
      const dst = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const v = clean.data[src + ch]! * camera.brightness * camera.whiteBalance[ch]! + camera.noise * gaussian(rng);
        out[dst + ch] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
      }
    }
  }
  const data = await sharp(Buffer.from(out.buffer, out.byteOffset, out.byteLength), { raw: { width, height, channels: 3 } }).jpeg({ quality: camera.jpegQuality }).toBuffer();
  return { format: 'jpeg', data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** A standard normal draw (Box–Muller). */
function gaussian(rng: Prng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

export type { RgbImage };
