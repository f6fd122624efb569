import { InputError } from '../../sdk/errors.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { BLOCK_COLOURS, BOWL_COLOURS, PALETTE, TABLE_RGB, type BlockColour, type BowlColour, type Rgb } from '../world/colours.ts';
import { normaliseCell, type Cell, type Layout } from '../world/Layout.ts';
import { tableRect } from '../render/renderLayout.ts';
import { BOWL_INNER, BOWL_OUTER, LEVEL_SQUARES, SLOT_PX } from '../render/slotPatch.ts';

/** Regions of a slot patch that perception reads: the bowl ring and the visible band of each stack level. */
const RING = 0;
const REGIONS = 1 + LEVEL_SQUARES.length;

/**
 * Reads a frame back into a layout (per slot: bowl colour or null, stack bottom→top) by averaging
 * each patch region and taking the nearest palette colour, so small noise does not change the answer.
 * Works for any frame size the renderer supports (the table is located as the renderer places it).
 *
 * @param grid slots per side, rows then columns. @default [8, 8]
 */
export function perceiveLayout(frame: RgbImage, grid: readonly [number, number] = [8, 8]): Layout {
  const [rows, cols] = grid;
  if (frame.data.length !== frame.width * frame.height * 3) {
    throw new InputError('image_invalid', `frame data is ${frame.data.length} bytes, expected ${frame.width * frame.height * 3}`);
  }
  const sums = accumulate(frame, rows, cols);
  const layout: Layout = [];
  for (let r = 0; r < rows; r++) {
    const row: (Cell | null)[] = [];
    for (let c = 0; c < cols; c++) row.push(classifySlot(sums, (r * cols + c) * REGIONS));
    layout.push(row);
  }
  return layout;
}

/** Sum of R, G, B and a count per (slot, region). */
function accumulate(frame: RgbImage, rows: number, cols: number): Float64Array {
  const map = regionMap(frame.width, frame.height, rows, cols);
  const sums = new Float64Array(rows * cols * REGIONS * 4);
  const px = frame.data;
  for (let i = 0, p = 0; i < map.length; i++, p += 3) {
    const bin = map[i]!;
    if (bin < 0) continue;
    const s = bin * 4;
    sums[s] += px[p]!;
    sums[s + 1] += px[p + 1]!;
    sums[s + 2] += px[p + 2]!;
    sums[s + 3] += 1;
  }
  return sums;
}

const mapCache = new Map<string, Int32Array>();

/** For each frame pixel, its (slot, region) bin or -1: the renderer's nearest-neighbour mapping inverted. */
function regionMap(width: number, height: number, rows: number, cols: number): Int32Array {
  const key = `${width}x${height}:${rows}x${cols}`;
  const cached = mapCache.get(key);
  if (cached) return cached;
  const table = { width: cols * SLOT_PX, height: rows * SLOT_PX };
  const rect = tableRect(table, { width, height });
  const map = new Int32Array(width * height).fill(-1);
  for (let y = 0; y < rect.h; y++) {
    const sy = Math.floor(((y + 0.5) * table.height) / rect.h);
    for (let x = 0; x < rect.w; x++) {
      const sx = Math.floor(((x + 0.5) * table.width) / rect.w);
      const region = regionOf(sy % SLOT_PX, sx % SLOT_PX);
      if (region < 0) continue;
      const slot = Math.floor(sy / SLOT_PX) * cols + Math.floor(sx / SLOT_PX);
      map[(rect.y + y) * width + rect.x + x] = slot * REGIONS + region;
    }
  }
  mapCache.set(key, map);
  return map;
}

function inSquare(y: number, x: number, [a, b]: readonly [number, number]): boolean {
  return y >= a && y < b && x >= a && x < b;
}

function regionOf(y: number, x: number): number {
  for (let level = LEVEL_SQUARES.length - 1; level >= 0; level--) {
    if (inSquare(y, x, LEVEL_SQUARES[level]!)) return 1 + level;
  }
  if (inSquare(y, x, BOWL_OUTER) && !inSquare(y, x, BOWL_INNER)) return RING;
  return -1;
}

function classifySlot(sums: Float64Array, base: number): Cell | null {
  const bowl = nearest(mean(sums, base + RING), BOWL_COLOURS) as BowlColour | null;
  const stack: BlockColour[] = [];
  for (let level = 0; level < LEVEL_SQUARES.length; level++) {
    const colour = nearest(mean(sums, base + 1 + level), BLOCK_COLOURS) as BlockColour | null;
    if (!colour) break;
    stack.push(colour);
  }
  return normaliseCell({ bowl, stack });
}

function mean(sums: Float64Array, bin: number): Rgb | null {
  const n = sums[bin * 4 + 3]!;
  if (n === 0) return null;
  return [sums[bin * 4]! / n, sums[bin * 4 + 1]! / n, sums[bin * 4 + 2]! / n];
}

/** Nearest of the table colour and `colours`; null when the table colour wins. */
function nearest(rgb: Rgb | null, colours: readonly BlockColour[]): BlockColour | null {
  if (!rgb) return null;
  let best: BlockColour | null = null;
  let bestD = dist2(rgb, TABLE_RGB);
  for (const colour of colours) {
    const d = dist2(rgb, PALETTE[colour]);
    if (d < bestD) {
      bestD = d;
      best = colour;
    }
  }
  return best;
}

function dist2(a: Rgb, b: Rgb): number {
  return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2;
}
