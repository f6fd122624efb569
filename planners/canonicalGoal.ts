import { readGoal } from './readGoal.ts';

/**
 * An operator's wording → the tabletop grammar the planners were trained on (sim/GRAMMAR.md), where
 * it can be recognised; anything else passes through lower-cased. First a lexicon: synonyms of
 * colours and objects, politeness dropped, clause orders rewritten, and a word one edit away from a
 * known word (a swap, a dropped or an extra letter) corrected when only one word is that close. Where
 * that leaves a part outside the grammar, the goal is read instead (`readGoal`: steps, coloured
 * objects and action cues), and kept only if the reading is a grammar sentence.
 *
 * @example canonicalGoal('Could you please put the crimson cube into the azure dish, thanks')
 *   // 'put the red block in the blue bowl'
 */
export function canonicalGoal(goal: string): string {
  let text = goal.toLowerCase().replace(/[.!?;:"]+/g, ' ').replace(/\s+/g, ' ').trim();
  text = text.split(' ').map(correct).join(' ');
  text = text.replace(/\b\w+\b/g, (w) => SYNONYMS[w] ?? w);
  text = stripPoliteness(text);
  const parts = text.split(/\s*,\s*(?:and )?(?:then|after that|afterwards|next)\s+/);
  const rewritten = parts.map((p) => rewriteClause(p.trim())).join(', then ');
  if (isCanonical(rewritten)) return rewritten;
  // Not a shape the lexicon knows: read what the wording says (planners/readGoal.ts).
  const read = readGoal(goal);
  return read && isCanonical(read) ? read : rewritten;
}

const C = '(?:red|green|blue|yellow|purple|orange)';
const SENTENCE = new RegExp(
  `^(?:put the ${C} block in the ${C} bowl|stack the ${C} block on the ${C} block|move the ${C} block (?:to the left of|to the right of|above|below) the ${C} (?:block|bowl)|sort the blocks into the bowls of matching colour|build a tower with the ${C} block at the bottom and the ${C} block on top|build a tower with the ${C} block at the bottom, the ${C} block in the middle and the ${C} block on top)$`,
);
/** Whether every part of a goal is a sentence of the grammar (parts joined by ", then" or " and "). */
export function isCanonical(goal: string): boolean {
  return goal.split(/, then | and (?=put|stack|move)/).every((p) => SENTENCE.test(p));
}

const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'];
const SYNONYMS: Record<string, string> = {
  crimson: 'red',
  scarlet: 'red',
  emerald: 'green',
  lime: 'green',
  azure: 'blue',
  navy: 'blue',
  golden: 'yellow',
  gold: 'yellow',
  lemon: 'yellow',
  violet: 'purple',
  lilac: 'purple',
  amber: 'orange',
  tangerine: 'orange',
  cube: 'block',
  brick: 'block',
  cubes: 'blocks',
  bricks: 'blocks',
  dish: 'bowl',
  basin: 'bowl',
  dishes: 'bowls',
  color: 'colour',
};
/** Every word the grammar and the lexicon know: the targets of typo correction. */
const VOCABULARY = new Set([
  ...COLOURS,
  ...Object.keys(SYNONYMS),
  ...'put place drop set move stack pick up grab take grasp it in into inside on onto top of the a to left right side above below over under beneath and then after that sort blocks block bowls bowl matching colour color build tower with at bottom middle is where should go goes could you please kindly would like thanks thank can i'.split(
    ' ',
  ),
]);

/**
 * The known word one edit away from `word`, else `word`. Typing slips are mostly swapped and dropped
 * letters, so among several candidates a swap ranks first, then a letter restored, then one removed,
 * then one replaced; a tie at the best rank corrects nothing.
 */
function correct(word: string): string {
  const bare = word.replace(/,$/, '');
  if (bare.length < 4 || VOCABULARY.has(bare) || !/^[a-z]+$/.test(bare)) return word;
  let best: string[] = [];
  let bestRank = Infinity;
  for (const v of VOCABULARY) {
    const rank = editRank(bare, v);
    if (rank < bestRank) [best, bestRank] = [[v], rank];
    else if (rank === bestRank) best.push(v);
  }
  return bestRank < Infinity && best.length === 1 ? word.replace(bare, best[0]!) : word;
}

/** How `typed` is one edit from `known`: 0 swap, 1 letter dropped, 2 letter added, 3 letter replaced; else Infinity. */
function editRank(typed: string, known: string): number {
  if (typed.length === known.length) {
    const diff = [...typed].map((ch, i) => (ch !== known[i] ? i : -1)).filter((i) => i >= 0);
    if (diff.length === 1) return 3;
    const swapped = diff.length === 2 && diff[1] === diff[0]! + 1 && typed[diff[0]!] === known[diff[1]!] && typed[diff[1]!] === known[diff[0]!];
    return swapped ? 0 : Infinity;
  }
  const dropped = (long: string, short: string) => long.length === short.length + 1 && [...long].some((_, i) => long.slice(0, i) + long.slice(i + 1) === short);
  if (dropped(known, typed)) return 1;
  if (dropped(typed, known)) return 2;
  return Infinity;
}

function stripPoliteness(text: string): string {
  return text
    .replace(/^(?:(?:could|can|would) you (?:please )?|please |kindly |i would like you to |i'd like you to |i want you to )+/, '')
    .replace(/,? (?:thanks|thank you|please)$/, '')
    .trim();
}

const REL = '(to the left of|to the right of|above|below)';
/** Reordered and passive shapes of one clause → the canonical sentence. */
function rewriteClause(part: string): string {
  let m = /^(?:put|place|drop|set) the (\w+) block (?:in|into|inside) the (\w+) bowl$/.exec(part);
  if (m) return `put the ${m[1]} block in the ${m[2]} bowl`;
  m = /^(?:in|into|inside) the (\w+) bowl,? (?:put|place|drop|set) the (\w+) block$/.exec(part);
  if (m) return `put the ${m[2]} block in the ${m[1]} bowl`;
  m = /^the (\w+) block (?:goes|should go|belongs) (?:in|into|inside) the (\w+) bowl$/.exec(part);
  if (m) return `put the ${m[1]} block in the ${m[2]} bowl`;
  m = /^on (?:top of )?the (\w+) block,? stack the (\w+) block$/.exec(part);
  if (m) return `stack the ${m[2]} block on the ${m[1]} block`;
  // A tower of two is one stack: the subgoal every planner knows.
  m = /^build a tower with the (\w+) block at the bottom and the (\w+) block on top$/.exec(part);
  if (m) return `stack the ${m[2]} block on the ${m[1]} block`;
  m = new RegExp(`^${REL} the (\\w+) (block|bowl) is where the (\\w+) block should go$`).exec(part);
  if (m) return `move the ${m[4]} block ${m[1]} the ${m[2]} ${m[3]}`;
  return part;
}
