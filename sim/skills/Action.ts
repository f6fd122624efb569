import type { BlockColour, BowlColour } from '../world/colours.ts';

export const RELATIONS = ['left', 'right', 'above', 'below'] as const;
export type Relation = (typeof RELATIONS)[number];

/** Image-space offset of each relation: above = one row up. */
export const RELATION_OFFSET: Record<Relation, { dr: number; dc: number }> = {
  left: { dr: 0, dc: -1 },
  right: { dr: 0, dc: 1 },
  above: { dr: -1, dc: 0 },
  below: { dr: 1, dc: 0 },
};

export type ObjectRef = { type: 'block'; colour: BlockColour } | { type: 'bowl'; colour: BowlColour };

/** One executable subgoal. */
export type Action =
  | { kind: 'place'; block: BlockColour; bowl: BowlColour }
  | { kind: 'stack'; block: BlockColour; onto: BlockColour }
  | { kind: 'move'; block: BlockColour; relation: Relation; ref: ObjectRef };
