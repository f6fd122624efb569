import { InputError } from '../../sdk/errors.ts';
import { cellKey, type Layout } from '../world/Layout.ts';

/** Fraction of slots whose contents (bowl, stack) are equal in both layouts, in [0, 1]. */
export function layoutAgreement(a: Layout, b: Layout): number {
  const rows = a.length;
  const cols = a[0]?.length ?? 0;
  if (b.length !== rows || (b[0]?.length ?? 0) !== cols) {
    throw new InputError('input_invalid', `layout shapes differ: ${rows}×${cols} vs ${b.length}×${b[0]?.length ?? 0}`);
  }
  let same = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) if (cellKey(a[r]![c] ?? null) === cellKey(b[r]![c] ?? null)) same++;
  }
  return rows * cols === 0 ? 1 : same / (rows * cols);
}
