import { cellAt, findBlock, findBowl, inBounds, MAX_STACK, type Layout, type Slot } from '../world/Layout.ts';
import { RELATION_OFFSET, type Action } from './Action.ts';

export type SkillFailureReason = 'unknown_subgoal' | 'no_such_object' | 'blocked' | 'occupied' | 'too_high' | 'out_of_bounds' | 'same_object' | 'toppled';

/** A legal action as one gripper transfer (`noop` when the goal of the action already holds). */
export type Resolution =
  | { ok: true; from: Slot; to: Slot; noop: boolean }
  | { ok: false; reason: SkillFailureReason; message: string };

/**
 * Checks an action against a layout and turns it into a transfer: the block must exist and be on top
 * of its stack, the target must exist, be in bounds, hold fewer than 3 blocks, and (for a move next
 * to something) hold no blocks.
 */
export function resolveAction(layout: Layout, action: Action): Resolution {
  const src = findBlock(layout, action.block);
  if (!src) return fail('no_such_object', `there is no ${action.block} block on the table`);
  const target = targetSlot(layout, action);
  if ('reason' in target) return target;
  const from = { r: src.r, c: src.c };
  const noop = isAlreadyDone(layout, action, src.level, target.slot);
  if (noop) return { ok: true, from, to: target.slot, noop: true };
  if (src.level !== src.height - 1) {
    const above = cellAt(layout, from)!.stack[src.level + 1];
    return fail('blocked', `the ${action.block} block is under the ${above} block`);
  }
  const height = cellAt(layout, target.slot)?.stack.length ?? 0;
  if (action.kind === 'move' && height > 0) {
    return fail('occupied', `row ${target.slot.r} column ${target.slot.c} already holds blocks`);
  }
  if (height >= MAX_STACK) return fail('too_high', `the stack at row ${target.slot.r} column ${target.slot.c} is already ${MAX_STACK} high`);
  return { ok: true, from, to: target.slot, noop: false };
}

function fail(reason: SkillFailureReason, message: string): Resolution {
  return { ok: false, reason, message };
}

function targetSlot(layout: Layout, action: Action): { slot: Slot } | { ok: false; reason: SkillFailureReason; message: string } {
  switch (action.kind) {
    case 'place': {
      const bowl = findBowl(layout, action.bowl);
      return bowl ? { slot: bowl } : { ok: false, reason: 'no_such_object', message: `there is no ${action.bowl} bowl on the table` };
    }
    case 'stack': {
      if (action.onto === action.block) return { ok: false, reason: 'same_object', message: `cannot stack the ${action.block} block on itself` };
      const onto = findBlock(layout, action.onto);
      if (!onto) return { ok: false, reason: 'no_such_object', message: `there is no ${action.onto} block on the table` };
      if (onto.level !== onto.height - 1) {
        const stack = cellAt(layout, onto)!.stack;
        if (stack[onto.level + 1] !== action.block) {
          return { ok: false, reason: 'blocked', message: `the ${action.onto} block is under the ${stack[onto.level + 1]} block` };
        }
      }
      return { slot: { r: onto.r, c: onto.c } };
    }
    case 'move': {
      const { ref } = action;
      if (ref.type === 'block' && ref.colour === action.block) {
        return { ok: false, reason: 'same_object', message: `cannot move the ${action.block} block next to itself` };
      }
      const at = ref.type === 'bowl' ? findBowl(layout, ref.colour) : findBlock(layout, ref.colour);
      if (!at) return { ok: false, reason: 'no_such_object', message: `there is no ${ref.colour} ${ref.type} on the table` };
      const off = RELATION_OFFSET[action.relation];
      const slot = { r: at.r + off.dr, c: at.c + off.dc };
      if (!inBounds(layout, slot)) {
        return { ok: false, reason: 'out_of_bounds', message: `${action.relation} the ${ref.colour} ${ref.type} is off the table` };
      }
      return { slot };
    }
  }
}

function isAlreadyDone(layout: Layout, action: Action, level: number, target: Slot): boolean {
  const src = findBlock(layout, action.block)!;
  const sameSlot = src.r === target.r && src.c === target.c;
  if (!sameSlot) return false;
  switch (action.kind) {
    case 'place':
      return true;
    case 'stack':
      return cellAt(layout, target)!.stack[level - 1] === action.onto;
    case 'move':
      return level === 0 && src.height === 1;
  }
}
