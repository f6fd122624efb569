import { allSlots } from '../tasks/generateScene.ts';
import type { Predicate } from '../tasks/predicates.ts';
import type { Disturbance } from '../tasks/suites.ts';
import { RELATION_OFFSET, RELATIONS } from '../skills/Action.ts';
import type { BlockColour } from '../world/colours.ts';
import { blocksOn, cloneLayout, findBlock, inBounds, normaliseCell, type Layout, type Slot } from '../world/Layout.ts';
import type { Prng } from '../world/Prng.ts';

/**
 * The scene after a `perturb` disturbance (`silent_fail` changes nothing here: the harness skips the
 * skill instead). Only top blocks move, as a hand would take them; null when no such change exists.
 */
export function disturbLayout(layout: Layout, predicates: readonly Predicate[], kind: Disturbance['kind'], rng: Prng): Layout | null {
  const named = new Set<BlockColour>(predicates.flatMap((p) => (p.type === 'on' ? [p.block, p.onto] : p.type === 'rel' && p.ref.type === 'block' ? [p.block, p.ref.colour] : [p.block])));
  const top = (c: BlockColour) => {
    const at = findBlock(layout, c);
    return at !== null && at.level === at.height - 1;
  };
  const free = allSlots(layout.length, layout[0]!.length).filter((s) => !layout[s.r]![s.c]);
  const blocks = blocksOn(layout).filter(top);
  switch (kind) {
    case 'move': {
      const goalBlocks = blocks.filter((b) => named.has(b));
      if (goalBlocks.length === 0 || free.length === 0) return null;
      return relocate(layout, rng.pick(goalBlocks), rng.pick(free));
    }
    case 'remove': {
      const others = blocks.filter((b) => !named.has(b));
      if (others.length === 0) return disturbLayout(layout, predicates, 'move', rng);
      const at = findBlock(layout, rng.pick(others))!;
      const next = cloneLayout(layout);
      next[at.r]![at.c]!.stack.pop();
      next[at.r]![at.c] = normaliseCell(next[at.r]![at.c]!);
      return next;
    }
    case 'topple': {
      const stacked = blocks.filter((b) => findBlock(layout, b)!.level > 0);
      const colour = stacked.length > 0 ? rng.pick(stacked) : blocks.filter((b) => named.has(b))[0];
      if (!colour) return null;
      const at = findBlock(layout, colour)!;
      const beside = rng.shuffle(RELATIONS.map((rel) => ({ r: at.r + RELATION_OFFSET[rel].dr, c: at.c + RELATION_OFFSET[rel].dc }))).find((s) => inBounds(layout, s) && !layout[s.r]![s.c]);
      return beside ? relocate(layout, colour, beside) : free.length > 0 ? relocate(layout, colour, rng.pick(free)) : null;
    }
    case 'silent_fail':
      return null;
  }
}

function relocate(layout: Layout, colour: BlockColour, to: Slot): Layout {
  const at = findBlock(layout, colour)!;
  const next = cloneLayout(layout);
  next[at.r]![at.c]!.stack.pop();
  next[at.r]![at.c] = normaliseCell(next[at.r]![at.c]!);
  next[to.r]![to.c] = { bowl: null, stack: [colour] };
  return next;
}
