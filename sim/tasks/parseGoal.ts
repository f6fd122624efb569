import { BOWL_COLOURS, isBlockColour } from '../world/colours.ts';
import { findBlock, findBowl, type Layout } from '../world/Layout.ts';
import { parseSubgoal } from '../skills/parseSubgoal.ts';
import { predicateFor, type Predicate } from './predicates.ts';

const SORT = 'sort the blocks into the bowls of matching colour';
const TOWER2 = /^build a tower with the (\w+) block at the bottom and the (\w+) block on top$/;
const TOWER3 = /^build a tower with the (\w+) block at the bottom, the (\w+) block in the middle and the (\w+) block on top$/;

/**
 * Goal text → ordered predicates, given the current layout (a sort goal depends on which blocks and
 * bowls are there). Goals: any subgoal sentence; `A and B`; `A, then B`; the sort goal; the tower goal.
 * Sort handles bowls in the fixed colour order red, green, blue. Null when the text is not a goal.
 */
export function parseGoal(goal: string, layout: Layout): Predicate[] | null {
  const text = goal.toLowerCase().replace(/[.!?]+$/, '').trim();
  const parts = text.split(/, then | and (?=put|place|stack|move)/);
  const out: Predicate[] = [];
  for (const part of parts) {
    const preds = parsePart(part.trim(), layout);
    if (!preds) return null;
    out.push(...preds);
  }
  return out;
}

function parsePart(text: string, layout: Layout): Predicate[] | null {
  if (text === SORT) return sortPredicates(layout);
  const tower = TOWER2.exec(text) ?? TOWER3.exec(text);
  if (tower) {
    const colours = tower.slice(1);
    if (!colours.every(isBlockColour)) return null;
    return colours.slice(1).map((block, i) => ({ type: 'on', block, onto: colours[i]! }) as Predicate);
  }
  const action = parseSubgoal(text);
  return action ? [predicateFor(action)] : null;
}

function sortPredicates(layout: Layout): Predicate[] {
  return BOWL_COLOURS.filter((c) => findBowl(layout, c) && findBlock(layout, c)).map((c) => ({ type: 'in', block: c, bowl: c }));
}

export const SORT_GOAL = SORT;

/** The tower goal for 2 or 3 colours, bottom first. */
export function towerGoal(colours: readonly string[]): string {
  return colours.length === 2
    ? `build a tower with the ${colours[0]} block at the bottom and the ${colours[1]} block on top`
    : `build a tower with the ${colours[0]} block at the bottom, the ${colours[1]} block in the middle and the ${colours[2]} block on top`;
}
