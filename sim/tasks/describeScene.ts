import type { Cell, Layout } from '../world/Layout.ts';

/**
 * The templated scene description (t2i instruction, story opening): occupied slots in raster order.
 *
 * @example 'a table seen from above. row 0 column 5: a blue block under a green block. row 2 column 3: a red bowl.'
 */
export function describeScene(layout: Layout): string {
  const parts = ['a table seen from above.'];
  layout.forEach((row, r) =>
    row.forEach((cell, c) => {
      if (cell) parts.push(`row ${r} column ${c}: ${describeCell(cell)}.`);
    }),
  );
  return parts.join(' ');
}

function describeCell(cell: Cell): string {
  const blocks = cell.stack.map((colour) => `${article(colour)} ${colour} block`).join(' under ');
  if (!cell.bowl) return blocks;
  return blocks ? `a ${cell.bowl} bowl holding ${blocks}` : `a ${cell.bowl} bowl`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}
