import { emptyLayout, type Layout } from '../../sim/world/Layout.ts';

/** A small fixed scene: red and green single blocks, a yellow-on-blue stack, red and blue bowls. */
export function basicLayout(): Layout {
  const layout = emptyLayout();
  layout[1]![1] = { bowl: null, stack: ['red'] };
  layout[2]![5] = { bowl: 'blue', stack: [] };
  layout[4]![4] = { bowl: null, stack: ['blue', 'yellow'] };
  layout[6]![2] = { bowl: 'red', stack: [] };
  layout[0]![7] = { bowl: null, stack: ['green'] };
  return layout;
}
