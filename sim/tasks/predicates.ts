import { findBlock, findBowl, type Layout } from '../world/Layout.ts';
import { RELATION_OFFSET, type Action, type ObjectRef, type Relation } from '../skills/Action.ts';
import type { BlockColour, BowlColour } from '../world/colours.ts';

/** Goal conditions over the world state. */
export type Predicate =
  | { type: 'in'; block: BlockColour; bowl: BowlColour }
  | { type: 'on'; block: BlockColour; onto: BlockColour }
  | { type: 'rel'; block: BlockColour; relation: Relation; ref: ObjectRef };

export function holds(layout: Layout, p: Predicate): boolean {
  const block = findBlock(layout, p.block);
  if (!block) return false;
  switch (p.type) {
    case 'in': {
      const bowl = findBowl(layout, p.bowl);
      return bowl !== null && bowl.r === block.r && bowl.c === block.c;
    }
    case 'on': {
      const onto = findBlock(layout, p.onto);
      return onto !== null && onto.r === block.r && onto.c === block.c && onto.level === block.level - 1;
    }
    case 'rel': {
      const ref = p.ref.type === 'bowl' ? findBowl(layout, p.ref.colour) : findBlock(layout, p.ref.colour);
      const off = RELATION_OFFSET[p.relation];
      return ref !== null && block.r === ref.r + off.dr && block.c === ref.c + off.dc;
    }
  }
}

export function allHold(layout: Layout, predicates: readonly Predicate[]): boolean {
  return predicates.every((p) => holds(layout, p));
}

/** The action that makes a predicate true (the oracle's one step per predicate). */
export function actionFor(p: Predicate): Action {
  switch (p.type) {
    case 'in':
      return { kind: 'place', block: p.block, bowl: p.bowl };
    case 'on':
      return { kind: 'stack', block: p.block, onto: p.onto };
    case 'rel':
      return { kind: 'move', block: p.block, relation: p.relation, ref: p.ref };
  }
}

export function predicateFor(a: Action): Predicate {
  switch (a.kind) {
    case 'place':
      return { type: 'in', block: a.block, bowl: a.bowl };
    case 'stack':
      return { type: 'on', block: a.block, onto: a.onto };
    case 'move':
      return { type: 'rel', block: a.block, relation: a.relation, ref: a.ref };
  }
}
