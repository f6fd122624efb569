import type { SpecialIds } from '../model/ModelManifest.ts';
import type { TiktokenTokenizer } from '../tokenizer/TiktokenTokenizer.ts';
import { InputError } from '../errors.ts';

export interface CodeGrid {
  rows: number;
  cols: number;
}

/** Ids of the size header text `"{rows}*{cols}"` (each digit and the `*` are ordinary BPE tokens). */
export function headerTokenIds(tok: TiktokenTokenizer, rows: number, cols: number): number[] {
  return tok.encodeOrdinary(`${rows}*${cols}`);
}

/**
 * Length of an image's ids: `BOI "{rows}*{cols}" IMG`, rows·cols codes, rows−1 EOLs, `EOI`, with the
 * header one token per character (the grammar forces it so; Qwen's pre-tokeniser splits digits too).
 * Known from the grid alone, so a grid no context can hold is refused before any id is built.
 */
export function imageTokenCount(grid: CodeGrid): number {
  return grid.rows * (grid.cols + 1) + 2 + `${grid.rows}*${grid.cols}`.length;
}

/**
 * Emu3.5 image string as ids: `BOI "{rows}*{cols}" IMG row0 EOL row1 … EOL rowN-1 EOI`, with no EOL after
 * the last row. `codes` are codebook indices, row-major, rows·cols of them.
 */
export function imageTokenIds(
  tok: TiktokenTokenizer,
  ids: SpecialIds,
  visualOffset: number,
  grid: CodeGrid,
  codes: readonly number[],
): number[] {
  const { rows, cols } = grid;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new InputError('input_invalid', `Image grid must be positive integers, got ${rows}x${cols}`);
  }
  if (codes.length !== rows * cols) {
    throw new InputError('input_invalid', `Image grid ${rows}x${cols} needs ${rows * cols} codes, got ${codes.length}`);
  }
  const out = [ids.boi, ...headerTokenIds(tok, rows, cols), ids.img];
  for (let r = 0; r < rows; r++) {
    if (r > 0) out.push(ids.eol);
    for (let c = 0; c < cols; c++) out.push(visualOffset + codes[r * cols + c]!);
  }
  out.push(ids.eoi);
  return out;
}
