import { z } from 'zod';

/**
 * The SDK's one in-memory image: packed RGB8, row-major, no padding (`data.length === width*height*3`).
 * Every transport converts to this at its boundary (sensor_msgs encodings, PNG/JPEG, canvases).
 */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export const RgbImageSchema = z
  .object({
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    data: z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: "data must be a Uint8Array" }),
  })
  .refine((im) => im.data.length === im.width * im.height * 3, {
    message: 'data.length must equal width*height*3 (packed RGB8)',
  });

export function createRgbImage(width: number, height: number, fill: [number, number, number] = [0, 0, 0]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = fill[0];
    data[i + 1] = fill[1];
    data[i + 2] = fill[2];
  }
  return { width, height, data };
}
