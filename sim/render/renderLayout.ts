import { InputError } from '../../sdk/errors.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { BORDER_RGB } from '../world/colours.ts';
import type { Layout } from '../world/Layout.ts';
import { SLOT_PX, slotPatch } from './slotPatch.ts';

export interface FrameSize {
  width: number;
  height: number;
}

export const DEFAULT_FRAME_SIZE: FrameSize = { width: 128, height: 128 };

/**
 * The fixed top-down camera: renders a layout (8×8 slots) as an RGB frame.
 * At 128×128 slot (r,c) is exactly pixels [16r,16r+16)×[16c,16c+16). Other sizes (multiples of 16)
 * show that image scaled nearest-neighbour into the centred square of side min(w,h).
 *
 * @example renderLayout(world.layout, { width: 640, height: 480 })
 */
export function renderLayout(layout: Layout, size: FrameSize = DEFAULT_FRAME_SIZE): RgbImage {
  checkSize(size);
  const table = renderTable(layout);
  if (size.width === table.width && size.height === table.height) return table;
  return letterbox(table, size);
}

function checkSize({ width, height }: FrameSize): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || width % 16 || height % 16) {
    throw new InputError('image_invalid', `frame size must be positive multiples of 16, got ${width}×${height}`);
  }
}

/** The canonical image: 16 pixels per slot. */
function renderTable(layout: Layout): RgbImage {
  const rows = layout.length;
  const cols = layout[0]?.length ?? 0;
  const width = cols * SLOT_PX;
  const height = rows * SLOT_PX;
  const data = new Uint8Array(width * height * 3);
  const rowBytes = SLOT_PX * 3;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const patch = slotPatch(layout[r]![c] ?? null);
      for (let y = 0; y < SLOT_PX; y++) {
        const dst = ((r * SLOT_PX + y) * width + c * SLOT_PX) * 3;
        data.set(patch.subarray(y * rowBytes, (y + 1) * rowBytes), dst);
      }
    }
  }
  return { width, height, data };
}

/** Where the table lands in a frame: a centred square (or the table's aspect) scaled to fit. */
export function tableRect(table: FrameSize, frame: FrameSize): { x: number; y: number; w: number; h: number } {
  const scale = Math.min(frame.width / table.width, frame.height / table.height);
  const w = Math.round(table.width * scale);
  const h = Math.round(table.height * scale);
  return { x: Math.floor((frame.width - w) / 2), y: Math.floor((frame.height - h) / 2), w, h };
}

function letterbox(table: RgbImage, size: FrameSize): RgbImage {
  const { width, height } = size;
  const rect = tableRect(table, size);
  const data = borderFrame(width, height).slice();
  const srcX = Int32Array.from({ length: rect.w }, (_, x) => Math.floor(((x + 0.5) * table.width) / rect.w));
  let prevSy = -1;
  for (let y = 0; y < rect.h; y++) {
    const sy = Math.floor(((y + 0.5) * table.height) / rect.h);
    const rowStart = ((rect.y + y) * width + rect.x) * 3;
    if (sy === prevSy) {
      // Same source row as the line above: copy it instead of resampling.
      data.copyWithin(rowStart, rowStart - width * 3, rowStart - width * 3 + rect.w * 3);
      continue;
    }
    prevSy = sy;
    const srcRow = sy * table.width * 3;
    let dst = rowStart;
    for (let x = 0; x < rect.w; x++, dst += 3) {
      const s = srcRow + srcX[x]! * 3;
      data[dst] = table.data[s]!;
      data[dst + 1] = table.data[s + 1]!;
      data[dst + 2] = table.data[s + 2]!;
    }
  }
  return { width, height, data };
}

const borders = new Map<string, Uint8Array>();

/** A frame filled with the border colour, cached per size (copied, never handed out). */
function borderFrame(width: number, height: number): Uint8Array {
  const key = `${width}x${height}`;
  let frame = borders.get(key);
  if (!frame) {
    frame = new Uint8Array(width * height * 3);
    for (let i = 0; i < frame.length; i += 3) frame.set(BORDER_RGB, i);
    borders.set(key, frame);
  }
  return frame;
}
