import { z } from 'zod';
import { BLOCK_COLOURS, BOWL_COLOURS, type BlockColour, type BowlColour } from './colours.ts';

/** What one slot holds: an optional bowl and a stack of blocks, bottom→top. Empty slot = null. */
export interface Cell {
  bowl: BowlColour | null;
  stack: BlockColour[];
}
/** Rows of cells (row 0 = top of the image). Usually 8×8; the explore world is 16×16. */
export type Layout = (Cell | null)[][];

export const MAX_STACK = 3;

export const CellSchema = z
  .object({ bowl: z.enum(BOWL_COLOURS).nullable(), stack: z.array(z.enum(BLOCK_COLOURS)).max(MAX_STACK) })
  .nullable();
/** A tabletop: rows × cols slots, each empty or a cell (a bowl and/or a stack of blocks). */
export const LayoutSchema = z.array(z.array(CellSchema));

/** A grid position on the table. */
export interface Slot {
  r: number;
  c: number;
}

export interface BlockPlace extends Slot {
  level: number;
  height: number;
}

/** An empty table of rows × cols slots. */
export function emptyLayout(rows = 8, cols = 8): Layout {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => null));
}

export function cloneLayout(layout: Layout): Layout {
  return layout.map((row) => row.map((cell) => (cell ? { bowl: cell.bowl, stack: [...cell.stack] } : null)));
}

/** Normalises an empty cell (no bowl, no blocks) to null. */
export function normaliseCell(cell: Cell | null): Cell | null {
  return cell && (cell.bowl !== null || cell.stack.length > 0) ? cell : null;
}

export function cellAt(layout: Layout, slot: Slot): Cell | null {
  return layout[slot.r]?.[slot.c] ?? null;
}

export function inBounds(layout: Layout, slot: Slot): boolean {
  return slot.r >= 0 && slot.c >= 0 && slot.r < layout.length && slot.c < (layout[0]?.length ?? 0);
}

export function findBlock(layout: Layout, colour: BlockColour): BlockPlace | null {
  for (let r = 0; r < layout.length; r++) {
    const row = layout[r]!;
    for (let c = 0; c < row.length; c++) {
      const stack = row[c]?.stack ?? [];
      const level = stack.indexOf(colour);
      if (level >= 0) return { r, c, level, height: stack.length };
    }
  }
  return null;
}

export function findBowl(layout: Layout, colour: BowlColour): Slot | null {
  for (let r = 0; r < layout.length; r++) {
    const row = layout[r]!;
    for (let c = 0; c < row.length; c++) if (row[c]?.bowl === colour) return { r, c };
  }
  return null;
}

export function blocksOn(layout: Layout): BlockColour[] {
  return layout.flatMap((row) => row.flatMap((cell) => cell?.stack ?? []));
}

export function bowlsOn(layout: Layout): BowlColour[] {
  return layout.flatMap((row) => row.flatMap((cell) => (cell?.bowl ? [cell.bowl] : [])));
}

export function cellKey(cell: Cell | null): string {
  return cell ? `${cell.bowl ?? '-'}:${cell.stack.join(',')}` : '';
}

/** A compact canonical string of a layout (for hashing, splits, equality). */
export function layoutKey(layout: Layout): string {
  return layout.map((row) => row.map(cellKey).join('|')).join('/');
}

export function layoutsEqual(a: Layout, b: Layout): boolean {
  return layoutKey(a) === layoutKey(b);
}

/** Removes the top block of `from` and puts it on top of `to` (no checks: callers validate). */
export function moveTopBlock(layout: Layout, from: Slot, to: Slot): Layout {
  const next = cloneLayout(layout);
  const src = next[from.r]![from.c]!;
  const block = src.stack.pop()!;
  next[from.r]![from.c] = normaliseCell(src);
  const dst = next[to.r]![to.c] ?? { bowl: null, stack: [] };
  dst.stack.push(block);
  next[to.r]![to.c] = dst;
  return next;
}

/** The 8×8 sub-layout whose top-left slot is `origin` (for the explore camera window). */
export function windowOf(layout: Layout, origin: Slot, rows = 8, cols = 8): Layout {
  return layout.slice(origin.r, origin.r + rows).map((row) => row.slice(origin.c, origin.c + cols));
}
