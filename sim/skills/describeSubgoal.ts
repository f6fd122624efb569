import type { Slot } from '../world/Layout.ts';
import type { Action, Relation } from './Action.ts';

const RELATION_TEXT: Record<Relation, string> = {
  left: 'to the left of',
  right: 'to the right of',
  above: 'above',
  below: 'below',
};

/**
 * The one canonical sentence for an action: what the oracle plans and the export teaches.
 *
 * @example describeSubgoal({ kind: 'place', block: 'red', bowl: 'blue' }) // 'put the red block in the blue bowl'
 */
export function describeSubgoal(action: Action): string {
  switch (action.kind) {
    case 'place':
      return `put the ${action.block} block in the ${action.bowl} bowl`;
    case 'stack':
      return `stack the ${action.block} block on the ${action.onto} block`;
    case 'move':
      return `move the ${action.block} block ${RELATION_TEXT[action.relation]} the ${action.ref.colour} ${action.ref.type}`;
  }
}

/**
 * Past-tense narration of an action (story task). With `to`, it also names the slot the block landed on,
 * so a story's text keeps track of where every block is: a later "moved … above the red block" can read
 * the reference's slot from the text instead of only from the previous frame.
 *
 * @example narrateSubgoal(move, { r: 3, c: 4 }) // 'the robot moved the red block above the blue bowl, to row 3 column 4.'
 */
export function narrateSubgoal(action: Action, to?: Slot): string {
  const where = to ? `, to row ${to.r} column ${to.c}` : '';
  return `the robot ${pastTense(action)}${where}.`;
}

function pastTense(action: Action): string {
  switch (action.kind) {
    case 'place':
      return `put the ${action.block} block in the ${action.bowl} bowl`;
    case 'stack':
      return `stacked the ${action.block} block on the ${action.onto} block`;
    case 'move':
      return `moved the ${action.block} block ${RELATION_TEXT[action.relation]} the ${action.ref.colour} ${action.ref.type}`;
  }
}
