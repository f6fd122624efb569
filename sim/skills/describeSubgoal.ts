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

/** Past-tense narration of an action (story task). */
export function narrateSubgoal(action: Action): string {
  switch (action.kind) {
    case 'place':
      return `the robot put the ${action.block} block in the ${action.bowl} bowl.`;
    case 'stack':
      return `the robot stacked the ${action.block} block on the ${action.onto} block.`;
    case 'move':
      return `the robot moved the ${action.block} block ${RELATION_TEXT[action.relation]} the ${action.ref.colour} ${action.ref.type}.`;
  }
}
