import { isBlockColour, isBowlColour } from '../world/colours.ts';
import type { Action, Relation } from './Action.ts';

const C = '(red|green|blue|yellow|purple|orange)';
const PUT = '(?:put|place|drop|set|move)';
const PICK = '(?:pick up|grab|take|grasp) the ' + C + ' block and';

/** Paraphrase patterns → action builders. Order matters only where patterns overlap (none do). */
const RULES: { re: RegExp; build: (m: string[]) => Action | null }[] = [
  { re: new RegExp(`^${PUT} the ${C} block (?:in|into|inside) the ${C} bowl$`), build: ([, b, w]) => place(b!, w!) },
  { re: new RegExp(`^${PICK} (?:put|place|drop) it (?:in|into|inside) the ${C} bowl$`), build: ([, b, w]) => place(b!, w!) },
  { re: new RegExp(`^stack the ${C} block (?:on|onto|on top of) the ${C} block$`), build: ([, b, o]) => stack(b!, o!) },
  { re: new RegExp(`^${PUT} the ${C} block (?:on|onto|on top of) the ${C} block$`), build: ([, b, o]) => stack(b!, o!) },
  { re: new RegExp(`^${PICK} (?:put|place|stack) it (?:on|onto|on top of) the ${C} block$`), build: ([, b, o]) => stack(b!, o!) },
  {
    re: new RegExp(`^${PUT} the ${C} block (?:to the )?(left|right) (?:of|side of) the ${C} (block|bowl)$`),
    build: ([, b, rel, c, t]) => move(b!, rel as Relation, c!, t!),
  },
  {
    re: new RegExp(`^${PUT} the ${C} block (above|below|over|under|beneath) the ${C} (block|bowl)$`),
    build: ([, b, rel, c, t]) => move(b!, verticalRelation(rel!), c!, t!),
  },
];

/**
 * Parses a subgoal sentence (any documented paraphrase, see sim/GRAMMAR.md) into an action, or null
 * when the sentence is not in the grammar. Case, extra spaces, "please" and final punctuation are ignored.
 */
export function parseSubgoal(text: string): Action | null {
  const norm = normalise(text);
  for (const rule of RULES) {
    const m = rule.re.exec(norm);
    if (m) return rule.build([...m]);
  }
  return null;
}

function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/[.,!?;]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^please /, '')
    .replace(/ please$/, '');
}

function verticalRelation(word: string): Relation {
  return word === 'above' || word === 'over' ? 'above' : 'below';
}

function place(block: string, bowl: string): Action | null {
  return isBlockColour(block) && isBowlColour(bowl) ? { kind: 'place', block, bowl } : null;
}

function stack(block: string, onto: string): Action | null {
  return isBlockColour(block) && isBlockColour(onto) ? { kind: 'stack', block, onto } : null;
}

function move(block: string, relation: Relation, colour: string, type: string): Action | null {
  if (!isBlockColour(block)) return null;
  if (type === 'bowl') return isBowlColour(colour) ? { kind: 'move', block, relation, ref: { type: 'bowl', colour } } : null;
  return isBlockColour(colour) ? { kind: 'move', block, relation, ref: { type: 'block', colour } } : null;
}
