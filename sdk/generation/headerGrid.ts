import type { Grid } from './GenerationEvent.ts';
import type { GrammarIds } from './GrammarIds.ts';

/** Tokens of `"{H}*{W}"`. */
export function headerTokens(grid: Grid, ids: GrammarIds): number[] {
  return [...`${grid.rows}*${grid.cols}`].map((ch) => (ch === '*' ? ids.star : ids.digits[Number(ch)]!));
}

/** Parses header tokens (between BOI and IMG) into a grid, or undefined when they are not `digits*digits`. */
export function parseHeader(tokens: readonly number[], ids: GrammarIds): Grid | undefined {
  const text = tokens.map((t) => (t === ids.star ? '*' : ids.digits.indexOf(t) >= 0 ? String(ids.digits.indexOf(t)) : '?')).join('');
  const m = /^(\d+)\*(\d+)$/.exec(text);
  if (!m) return undefined;
  const grid = { rows: Number(m[1]), cols: Number(m[2]) };
  return grid.rows > 0 && grid.cols > 0 ? grid : undefined;
}

/** The grid of the last image header in `ids` (the reference's rule reads the unconditional prompt). */
export function lastHeaderGrid(ids: readonly number[], g: GrammarIds): Grid | undefined {
  const boi = ids.lastIndexOf(g.boi);
  if (boi < 0) return undefined;
  const img = ids.indexOf(g.img, boi + 1);
  return img < 0 ? undefined : parseHeader(ids.slice(boi + 1, img), g);
}
