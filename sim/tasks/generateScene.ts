import { Prng, fnv1a } from '../world/Prng.ts';
import type { BlockColour, BowlColour } from '../world/colours.ts';
import { emptyLayout, layoutKey, MAX_STACK, type Layout, type Slot } from '../world/Layout.ts';

export type Split = 'train' | 'heldout';
/** Scene splits: `train` layouts and goals, and `heldout` ones never used in training. */
export const SPLITS = ['train', 'heldout'] as const;

/** One in 8 layouts is held out: a hash decides, so no initial layout is in both splits. */
export function splitOf(layout: Layout): Split {
  return fnv1a(layoutKey(layout)) % 8 === 0 ? 'heldout' : 'train';
}

/** (block, bowl) colour pairs that `put … in …` goals use only in the held-out split. */
export const HELDOUT_PAIRS: readonly (readonly [BlockColour, BowlColour])[] = [
  ['yellow', 'red'],
  ['purple', 'green'],
  ['orange', 'blue'],
];

export function isHeldoutPair(block: BlockColour, bowl: BowlColour): boolean {
  return HELDOUT_PAIRS.some(([b, w]) => b === block && w === bowl);
}

export interface SceneSpec {
  blocks: readonly BlockColour[];
  bowls: readonly BowlColour[];
  rows?: number;
  cols?: number;
}

/** Bowls and single blocks on distinct random slots (no stacks, no block in a bowl): the vla start state. */
export function placeObjects(rng: Prng, spec: SceneSpec): Layout {
  const rows = spec.rows ?? 8;
  const cols = spec.cols ?? 8;
  const layout = emptyLayout(rows, cols);
  const slots = rng.sample(allSlots(rows, cols), spec.blocks.length + spec.bowls.length);
  spec.bowls.forEach((bowl, i) => (layout[slots[i]!.r]![slots[i]!.c] = { bowl, stack: [] }));
  spec.blocks.forEach((colour, i) => {
    const s = slots[spec.bowls.length + i]!;
    layout[s.r]![s.c] = { bowl: null, stack: [colour] };
  });
  return layout;
}

/**
 * A scene that may hold stacks (up to 3) and blocks in bowls: for t2i, x2i and explore. Colours are
 * distinct unless `repeat` (the explore world has more objects than colours).
 */
export function richScene(rng: Prng, spec: SceneSpec & { stackChance?: number; repeat?: boolean }): Layout {
  const layout = placeObjects(rng, { ...spec, blocks: [] });
  const rows = layout.length;
  const cols = layout[0]!.length;
  const bowlSlots = allSlots(rows, cols).filter((s) => layout[s.r]![s.c]?.bowl);
  const free = rng.shuffle(allSlots(rows, cols).filter((s) => !layout[s.r]![s.c]));
  const occupied: Slot[] = [];
  for (const colour of spec.blocks) {
    const stackOn = occupied.filter((s) => layout[s.r]![s.c]!.stack.length < MAX_STACK);
    const roll = rng.next();
    let slot: Slot;
    if (stackOn.length > 0 && roll < (spec.stackChance ?? 0.3)) slot = rng.pick(stackOn);
    else if (bowlSlots.length > 0 && roll < (spec.stackChance ?? 0.3) + 0.2) slot = rng.pick(bowlSlots);
    else slot = free.pop()!;
    const cell = (layout[slot.r]![slot.c] ??= { bowl: null, stack: [] });
    if (cell.stack.length >= MAX_STACK) continue;
    cell.stack.push(colour);
    if (!occupied.includes(slot)) occupied.push(slot);
  }
  return layout;
}

export function allSlots(rows: number, cols: number): Slot[] {
  const out: Slot[] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out.push({ r, c });
  return out;
}
