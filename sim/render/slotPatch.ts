import { PALETTE, TABLE_RGB, type Rgb } from '../world/colours.ts';
import { cellKey, type Cell } from '../world/Layout.ts';

/** Pixels per slot at the canonical 128×128 size: one slot = one 16×16 vision-token patch. */
export const SLOT_PX = 16;
/** Bowl ring: outer square [1,15) minus inner square [3,13). */
export const BOWL_OUTER: readonly [number, number] = [1, 15];
export const BOWL_INNER: readonly [number, number] = [3, 13];
/**
 * Block squares by stack level, [a,b) on both axes. Level k is drawn as the ring between its square
 * and the next level's square (the last level fills its square), so the table shows inside the top
 * block and the stack height (and equal colours at two levels) stays readable.
 */
export const LEVEL_SQUARES: readonly (readonly [number, number])[] = [
  [3, 13],
  [5, 11],
  [7, 9],
];

const cache = new Map<string, Uint8Array>();

/**
 * The 16×16 RGB patch of one slot: a pure function of its contents (bowl colour, stack), so a
 * settled scene always renders to the same pixels, and one patch = one visual token.
 */
export function slotPatch(cell: Cell | null): Uint8Array {
  const key = cellKey(cell);
  let patch = cache.get(key);
  if (!patch) {
    patch = drawPatch(cell);
    cache.set(key, patch);
  }
  return patch;
}

function drawPatch(cell: Cell | null): Uint8Array {
  const patch = new Uint8Array(SLOT_PX * SLOT_PX * 3);
  fillSquare(patch, [0, SLOT_PX], TABLE_RGB);
  if (cell?.bowl) {
    fillSquare(patch, BOWL_OUTER, PALETTE[cell.bowl]);
    fillSquare(patch, BOWL_INNER, TABLE_RGB);
  }
  cell?.stack.forEach((colour, level) => {
    fillSquare(patch, LEVEL_SQUARES[level]!, PALETTE[colour]);
    const inner = LEVEL_SQUARES[level + 1];
    if (inner) fillSquare(patch, inner, TABLE_RGB);
  });
  return patch;
}

function fillSquare(patch: Uint8Array, [a, b]: readonly [number, number], rgb: Rgb): void {
  for (let y = a; y < b; y++) {
    for (let x = a; x < b; x++) {
      const i = (y * SLOT_PX + x) * 3;
      patch[i] = rgb[0];
      patch[i + 1] = rgb[1];
      patch[i + 2] = rgb[2];
    }
  }
}
