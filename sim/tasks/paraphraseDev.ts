import type { BlockColour } from '../world/colours.ts';
import { Prng } from '../world/Prng.ts';

/**
 * The "blind" paraphrase family: canonical goals reworded the way a range of human operators might type
 * them, written from general English knowledge and independently of the planner-side canonicaliser and
 * of the older paraphrase generator, so that a planner's score on it is a fair out-of-lexicon figure.
 *
 * Every output keeps all of the goal's information: each colour appears exactly once per mention in the
 * canonical text (as the plain colour or one of its shades in {@link COLOUR_WORDS}), block and bowl stay
 * apart (separate noun tables), relations keep their direction, tower roles stay labelled (or ordered by
 * an explicit "on … on …" / "from the bottom up" wording), and the parts of a compound keep their order.
 *
 * Dimensions, each drawn independently from the rng:
 *  1. colour words: the plain colour or a shade ("crimson", "cobalt", "lilac"), sometimes as
 *     "X-coloured" or a trailing relative clause ("the bowl that's blue");
 *  2. object nouns: block → cube, brick, little cube…; bowl → dish, basin, container…;
 *  3. verbs: put/place/stack/move/sort/build each have several alternatives, plus pick-up-and-put forms;
 *  4. relations: several phrasings per direction (above = behind / one row above, below = in front of…);
 *  5. sentence structure: imperatives, "I want/need …" statements, passives ("needs to be placed"),
 *     fronted clauses ("Into the blue bowl, drop …"), "use Y as the base …", verbless terse commands;
 *     towers bottom-up, top-down, role-shuffled, "C on B on A" or "from the bottom up: …";
 *  6. compound framing: inline connectors (", and then", ", after that", ", and finally"), separate
 *     sentences ("Once that's done, …"), or numbered steps for chains; "and also", "In addition, …" for
 *     conjunctions; an optional leading "first";
 *  7. wrappers, politeness and filler: "could you …?", "I need you to …", "please", "ok robot,", "thanks";
 *  8. surface: capitalisation (sentence case, all lower, rarely all caps), end punctuation, British or US
 *     spelling (colour/color, centre/center), occasional dropped articles;
 *  9. typos: at most one per part, in a word of five or more letters that is never a colour, relation or
 *     tower-role word (and never turns into one).
 *
 * Text that is not a canonical goal is returned unchanged.
 */
export function paraphraseDev(goal: string, rng: Prng): string {
  const parsed = parseCanonical(goal);
  if (!parsed) return goal;
  const style: Style = { rng, us: rng.next() < 0.35, terse: rng.next() < 0.08 };
  return finish(compose(parsed, style), style);
}

// ---------------------------------------------------------------------------------------------------------
// Vocabulary tables (exported for tests). The first entry of each list is the canonical word.

export const COLOUR_WORDS: Readonly<Record<BlockColour, readonly string[]>> = {
  red: ['red', 'crimson', 'scarlet', 'cherry red', 'ruby', 'fire-engine red', 'blood red', 'tomato red'],
  green: ['green', 'emerald', 'forest green', 'grass green', 'jade', 'kelly green', 'leaf green', 'bottle green'],
  blue: ['blue', 'navy', 'cobalt', 'azure', 'royal blue', 'sapphire', 'sky blue', 'navy blue'],
  yellow: ['yellow', 'lemon yellow', 'canary yellow', 'golden yellow', 'sunshine yellow', 'banana yellow', 'mustard yellow', 'butter yellow'],
  purple: ['purple', 'violet', 'plum', 'lavender', 'lilac', 'amethyst', 'mauve', 'deep purple'],
  orange: ['orange', 'tangerine', 'burnt orange', 'pumpkin orange', 'carrot orange', 'traffic-cone orange', 'mandarin orange', 'bright orange'],
};

/** A noun with an optional size/shape adjective that goes before the colour ("the little red cube"). */
type Noun = readonly [pre: string, head: string];

export const BLOCK_NOUNS: readonly Noun[] = [
  ['', 'block'], ['', 'cube'], ['', 'brick'], ['small', 'block'], ['little', 'cube'], ['', 'building block'], ['', 'square block'],
];
export const BOWL_NOUNS: readonly Noun[] = [
  ['', 'bowl'], ['', 'dish'], ['', 'basin'], ['', 'container'], ['small', 'bowl'], ['round', 'dish'], ['', 'receptacle'],
];
const BLOCK_PLURALS = ['blocks', 'cubes', 'bricks', 'little blocks', 'building blocks'] as const;
const BOWL_PLURALS = ['bowls', 'dishes', 'basins', 'containers'] as const;

export type Relation = 'left' | 'right' | 'above' | 'below';
type Phrase = (ref: string) => string;

const side = (dir: 'left' | 'right'): readonly Phrase[] => [
  (y) => `to the ${dir} of ${y}`,
  (y) => `on the ${dir} side of ${y}`,
  (y) => `just ${dir} of ${y}`,
  (y) => `immediately to the ${dir} of ${y}`,
  (y) => `${dir} of ${y}`,
  (y) => `next to ${y}, on its ${dir}`,
  (y) => `on the ${dir}-hand side of ${y}`,
  (y) => `one spot to the ${dir} of ${y}`,
];

/** Relation phrases; above = the row further from the camera, below = the row nearer to it. */
export const RELATION_PHRASES: Readonly<Record<Relation, readonly Phrase[]>> = {
  left: side('left'),
  right: side('right'),
  above: [
    (y) => `above ${y}`, (y) => `just above ${y}`, (y) => `one row above ${y}`, (y) => `in the spot above ${y}`,
    (y) => `behind ${y}`, (y) => `just behind ${y}`, (y) => `directly behind ${y}`, (y) => `one row up from ${y}`,
  ],
  below: [
    (y) => `below ${y}`, (y) => `just below ${y}`, (y) => `one row below ${y}`, (y) => `in the spot below ${y}`,
    (y) => `in front of ${y}`, (y) => `just in front of ${y}`, (y) => `directly in front of ${y}`, (y) => `one row down from ${y}`,
  ],
};

const PLACE_VERBS = ['put', 'place', 'drop', 'set', 'pop', 'stick', 'move', 'get', 'load', 'deposit', 'lower'] as const;
const STACK_VERBS = ['put', 'place', 'set', 'pop', 'balance', 'pile', 'rest', 'sit'] as const;
const MOVE_VERBS = ['move', 'shift', 'slide', 'relocate', 'reposition', 'bring', 'carry', 'push'] as const;
/** Only for left/right: with above/below, "put X above Y" could be misread as stacking. */
const MOVE_VERBS_SIDE = [...MOVE_VERBS, 'put', 'place', 'set'] as const;
const PICK_VERBS = ['pick up', 'grab', 'take', 'grasp', 'lift'] as const;
const BUILD_VERBS = ['build', 'make', 'assemble', 'put together', 'construct', 'form', 'set up', 'create'] as const;
const TOWER_NOUNS = ['tower', 'stack', 'pile', 'column'] as const;
const IN = ['in', 'into', 'inside'] as const;
const ON = ['on', 'onto', 'on top of', 'atop'] as const;
const WANT = ['I want', 'I need', "I'd like", 'I would like'] as const;

const ROLE_BOTTOM = ['at the bottom', 'on the bottom', 'as the base', 'at the base', 'as the foundation'] as const;
const ROLE_MIDDLE = ['in the middle', 'in the centre', 'in between', 'as the middle layer', 'sandwiched in the middle'] as const;
const ROLE_TOP = ['on top', 'at the top', 'on the very top', 'as the top piece', 'uppermost'] as const;

// ---------------------------------------------------------------------------------------------------------
// Parsing the canonical grammar.

export type Part =
  | { kind: 'place'; block: BlockColour; bowl: BlockColour }
  | { kind: 'stack'; block: BlockColour; onto: BlockColour }
  | { kind: 'move'; block: BlockColour; relation: Relation; ref: BlockColour; refKind: 'block' | 'bowl' }
  | { kind: 'sort' }
  | { kind: 'tower'; colours: BlockColour[] };

type Join = 'and' | 'then';
interface Goal { parts: Part[]; joins: Join[] }

const C = '(red|green|blue|yellow|purple|orange)';
const PLACE_RE = new RegExp(`^put the ${C} block in the ${C} bowl$`);
const STACK_RE = new RegExp(`^stack the ${C} block on the ${C} block$`);
const MOVE_RE = new RegExp(`^move the ${C} block (to the left of|to the right of|above|below) the ${C} (block|bowl)$`);
const TOWER_RE = new RegExp(`^build a tower with the ${C} block at the bottom(?:, the ${C} block in the middle)? and the ${C} block on top$`);
const SORT_TEXT = 'sort the blocks into the bowls of matching colour';
const REL_OF: Record<string, Relation> = { 'to the left of': 'left', 'to the right of': 'right', above: 'above', below: 'below' };

function parseCanonical(goal: string): Goal | null {
  const text = goal.trim().toLowerCase().replace(/[.!?]+$/, '');
  const pieces = text.split(/(, then | and (?=(?:put|place|stack|move) ))/);
  const parts: Part[] = [];
  const joins: Join[] = [];
  for (let i = 0; i < pieces.length; i++) {
    if (i % 2 === 1) joins.push(pieces[i]!.includes('then') ? 'then' : 'and');
    else {
      const part = parsePart(pieces[i]!.trim());
      if (!part) return null;
      parts.push(part);
    }
  }
  return { parts, joins };
}

function parsePart(text: string): Part | null {
  if (text === SORT_TEXT) return { kind: 'sort' };
  const col = (s: string | undefined) => s as BlockColour;
  let m = PLACE_RE.exec(text);
  if (m) return { kind: 'place', block: col(m[1]), bowl: col(m[2]) };
  if ((m = STACK_RE.exec(text))) return { kind: 'stack', block: col(m[1]), onto: col(m[2]) };
  if ((m = MOVE_RE.exec(text))) {
    return { kind: 'move', block: col(m[1]), relation: REL_OF[m[2]!]!, ref: col(m[3]), refKind: m[4] === 'bowl' ? 'bowl' : 'block' };
  }
  if ((m = TOWER_RE.exec(text))) return { kind: 'tower', colours: [m[1], m[2], m[3]].filter((c) => c !== undefined).map(col) };
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Small random helpers.

interface Style { rng: Prng; us: boolean; terse: boolean }

/** The canonical item with probability `pKeep`, else one of the others. */
function keepOr<T>(rng: Prng, items: readonly T[], pKeep: number): T {
  return rng.next() < pKeep || items.length === 1 ? items[0]! : items[1 + rng.int(items.length - 1)]!;
}

const chance = (s: Style, p: number): boolean => s.rng.next() < p;
const spell = (s: Style, text: string): string =>
  s.us ? text.replace(/colour/g, 'color').replace(/centre/g, 'center') : text;

// ---------------------------------------------------------------------------------------------------------
// Noun phrases.

function colourWord(s: Style, c: BlockColour): string {
  return keepOr(s.rng, COLOUR_WORDS[c], 0.4);
}

/** "the crimson cube", "the crimson-coloured cube", or (only where `final`) "the cube that's crimson". */
function np(s: Style, c: BlockColour, kind: 'block' | 'bowl', final = false): string {
  const [pre, head] = keepOr(s.rng, kind === 'block' ? BLOCK_NOUNS : BOWL_NOUNS, 0.35);
  const cw = colourWord(s, c);
  const lead = pre ? `${pre} ` : '';
  const r = s.rng.next();
  if (final && r < 0.12) return `the ${lead}${head} ${s.rng.pick(["that's", 'that is', 'which is'])} ${cw}`;
  if (r > 0.9 && !/[\s-]/.test(cw)) return `the ${lead}${cw}-${spell(s, 'coloured')} ${head}`;
  return `the ${lead}${cw} ${head}`;
}

const block = (s: Style, c: BlockColour, final = false) => np(s, c, 'block', final);
const bowl = (s: Style, c: BlockColour, final = false) => np(s, c, 'bowl', final);

// ---------------------------------------------------------------------------------------------------------
// Part realisations: per kind, templates for each mood.

/** Fronted clauses ("Into the blue bowl, drop …") are imperatives that cannot take a wrapper like "could you". */
type Mood = 'imperative' | 'fronted' | 'statement' | 'terse';
type Template<P> = (p: P, s: Style) => string;
type Templates<P> = Record<Mood, readonly Template<P>[]>;
type PlacePart = Extract<Part, { kind: 'place' }>;
type StackPart = Extract<Part, { kind: 'stack' }>;
type MovePart = Extract<Part, { kind: 'move' }>;
type SortPart = Extract<Part, { kind: 'sort' }>;
type TowerPart = Extract<Part, { kind: 'tower' }>;

const pk = (s: Style, items: readonly string[]) => s.rng.pick(items);

const PLACE: Templates<PlacePart> = {
  imperative: [
    (p, s) => `${keepOr(s.rng, PLACE_VERBS, 0.2)} ${block(s, p.block)} ${pk(s, IN)} ${bowl(s, p.bowl, true)}`,
    (p, s) => `${pk(s, PICK_VERBS)} ${block(s, p.block)} and ${pk(s, ['put', 'drop', 'place', 'set', 'lower'])} it ${pk(s, IN)} ${bowl(s, p.bowl, true)}`,
    (p, s) => `have ${block(s, p.block)} ${pk(s, ['placed', 'put', 'dropped'])} ${pk(s, IN)} ${bowl(s, p.bowl, true)}`,
    (p, s) => `make sure ${block(s, p.block)} ${pk(s, ['ends up', 'winds up', 'lands'])} ${pk(s, ['in', 'inside'])} ${bowl(s, p.bowl, true)}`,
    (p, s) => `transfer ${block(s, p.block)} ${pk(s, ['into', 'over into'])} ${bowl(s, p.bowl, true)}`,
  ],
  fronted: [(p, s) => `${pk(s, ['into', 'in'])} ${bowl(s, p.bowl)}, ${pk(s, ['put', 'place', 'drop'])} ${block(s, p.block, true)}`],
  statement: [
    (p, s) => `${block(s, p.block)} ${pk(s, ['goes', 'belongs', 'should go', 'needs to go'])} ${pk(s, IN)} ${bowl(s, p.bowl, true)}`,
    (p, s) => `${pk(s, WANT)} ${block(s, p.block)} ${pk(s, ['in', 'inside'])} ${bowl(s, p.bowl, true)}`,
    (p, s) => `${bowl(s, p.bowl)} should ${pk(s, ['hold', 'contain', 'end up with', 'end up holding'])} ${block(s, p.block, true)}`,
    (p, s) => `${block(s, p.block)} needs to be ${pk(s, ['put', 'placed', 'dropped'])} ${pk(s, IN)} ${bowl(s, p.bowl, true)}`,
  ],
  terse: [(p, s) => `${block(s, p.block)} ${pk(s, ['into', 'in'])} ${bowl(s, p.bowl, true)}`],
};

const STACK: Templates<StackPart> = {
  imperative: [
    (p, s) => `stack ${block(s, p.block)} ${pk(s, ON)} ${block(s, p.onto, true)}`,
    (p, s) => `${pk(s, STACK_VERBS)} ${block(s, p.block)} ${pk(s, ['on top of', 'onto', 'on'])} ${block(s, p.onto, true)}`,
    (p, s) => `${pk(s, PICK_VERBS)} ${block(s, p.block)} and ${pk(s, ['stack', 'set', 'put', 'place', 'balance'])} it ${pk(s, ON)} ${block(s, p.onto, true)}`,
    (p, s) => `use ${block(s, p.onto)} as the base and ${pk(s, ['put', 'stack', 'set'])} ${block(s, p.block, true)} on top of it`,
    (p, s) => `make sure ${block(s, p.block)} ${pk(s, ['ends up', 'is sitting', 'sits'])} on top of ${block(s, p.onto, true)}`,
    (p, s) => `have ${block(s, p.block)} ${pk(s, ['stacked', 'placed', 'put'])} ${pk(s, ['on', 'onto', 'on top of'])} ${block(s, p.onto, true)}`,
  ],
  fronted: [(p, s) => `${pk(s, ['on top of', 'onto'])} ${block(s, p.onto)}, ${pk(s, ['put', 'stack', 'place'])} ${block(s, p.block, true)}`],
  statement: [
    (p, s) => `${block(s, p.block)} ${pk(s, ['goes', 'belongs', 'should go', 'needs to go'])} ${pk(s, ['on top of', 'on', 'onto'])} ${block(s, p.onto, true)}`,
    (p, s) => `${pk(s, WANT)} ${block(s, p.block)} ${pk(s, ['on top of', 'on', 'sitting on', 'stacked on'])} ${block(s, p.onto, true)}`,
    (p, s) => `${block(s, p.onto)} should ${pk(s, ['have', 'end up with'])} ${block(s, p.block)} ${pk(s, ['on top of it', 'on it', 'stacked on it'])}`,
    (p, s) => `${block(s, p.block)} needs to be stacked ${pk(s, ['on', 'onto', 'on top of'])} ${block(s, p.onto, true)}`,
  ],
  terse: [(p, s) => `${block(s, p.block)} ${pk(s, ['on top of', 'onto'])} ${block(s, p.onto, true)}`],
};

/** The relation phrase around the reference; `noSpot` avoids "in the spot …" after "find the place". */
function where(p: MovePart, s: Style, final: boolean, noSpot = false): string {
  const phrases = RELATION_PHRASES[p.relation].filter((f) => !noSpot || !f('').startsWith('in the spot'));
  return s.rng.pick(phrases)(np(s, p.ref, p.refKind, final));
}
const moveVerb = (p: MovePart, s: Style): string =>
  keepOr(s.rng, p.relation === 'left' || p.relation === 'right' ? MOVE_VERBS_SIDE : MOVE_VERBS, 0.3);

const MOVE: Templates<MovePart> = {
  imperative: [
    (p, s) => `${moveVerb(p, s)} ${block(s, p.block)} ${where(p, s, true)}`,
    (p, s) => `${pk(s, PICK_VERBS)} ${block(s, p.block)} and ${pk(s, ['put it down', 'set it down', 'place it', 'drop it'])} ${where(p, s, true)}`,
    (p, s) => `make sure ${block(s, p.block)} ${pk(s, ['ends up', 'sits', 'is'])} ${where(p, s, true)}`,
    (p, s) => `have ${block(s, p.block)} moved ${where(p, s, true)}`,
    (p, s) => `${pk(s, ['find the place', 'look for the free space'])} ${where(p, s, false, true)} and ${pk(s, ['move', 'put', 'place'])} ${block(s, p.block, true)} there`,
  ],
  fronted: [(p, s) => `${where(p, s, false)}, ${pk(s, ['put', 'place', 'set down'])} ${block(s, p.block, true)}`],
  statement: [
    (p, s) => `${block(s, p.block)} ${pk(s, ['goes', 'should go', 'belongs', 'needs to go', 'should be', 'should sit'])} ${where(p, s, true)}`,
    (p, s) => `${pk(s, WANT)} ${block(s, p.block)} ${where(p, s, true)}`,
    (p, s) => `${block(s, p.block)} needs to be ${pk(s, ['moved', 'shifted', 'relocated'])} ${where(p, s, true)}`,
  ],
  terse: [(p, s) => `${block(s, p.block)} ${where(p, s, true)}`],
};

const blocks = (s: Style) => keepOr(s.rng, BLOCK_PLURALS, 0.4);
const bowls = (s: Style) => keepOr(s.rng, BOWL_PLURALS, 0.4);
const aBlock = (s: Style) => keepOr(s.rng, BLOCK_NOUNS, 0.4).filter((w) => w !== '').join(' ');
const aBowl = (s: Style) => keepOr(s.rng, BOWL_NOUNS, 0.4).filter((w) => w !== '').join(' ');
const each = (s: Style) => pk(s, ['each', 'every']);

const SORT: Templates<SortPart> = {
  imperative: [
    (_, s) => `sort the ${blocks(s)} into the ${bowls(s)} ${pk(s, ['of matching colour', 'of the same colour', 'that match their colour', 'by colour'])}`,
    (_, s) => `${pk(s, ['put', 'place', 'drop'])} ${each(s)} ${aBlock(s)} into the ${aBowl(s)} ${pk(s, ['of the same colour', 'that matches its colour', 'with the matching colour'])}`,
    (_, s) => `${pk(s, ['put', 'place', 'drop'])} all the ${blocks(s)} in their ${pk(s, ['matching-colour', 'same-coloured', 'colour-matched'])} ${bowls(s)}`,
    (_, s) => `match ${each(s)} ${aBlock(s)} with the ${aBowl(s)} of the same colour and ${pk(s, ['put', 'drop', 'place'])} it in`,
    (_, s) => `sort the ${blocks(s)} by colour, each one into the ${aBowl(s)} of that colour`,
  ],
  fronted: [(_, s) => `into the ${bowls(s)} that match their colour, sort the ${blocks(s)}`],
  statement: [
    (_, s) => `${each(s)} ${aBlock(s)} should go into the ${aBowl(s)} of the same colour`,
    (_, s) => `${pk(s, WANT)} ${each(s)} ${aBlock(s)} in the ${aBowl(s)} that matches its colour`,
    (_, s) => `the ${blocks(s)} need to be sorted into the ${bowls(s)} of matching colour`,
  ],
  terse: [(_, s) => `${blocks(s)} into the ${bowls(s)} of the same colour`],
};

const TOWER: Templates<TowerPart> = {
  imperative: [
    (p, s) => `${keepOr(s.rng, BUILD_VERBS, 0.3)} a ${keepOr(s.rng, TOWER_NOUNS, 0.4)} with ${roleList(p, s)}`,
    (p, s) => `${keepOr(s.rng, BUILD_VERBS, 0.3)} a ${keepOr(s.rng, TOWER_NOUNS, 0.4)}: ${onChain(p, s)}`,
    (p, s) => baseFirst(p, s),
    (p, s) => `${keepOr(s.rng, BUILD_VERBS, 0.3)} a ${keepOr(s.rng, TOWER_NOUNS, 0.4)} of ${p.colours.length === 2 ? 'two' : 'three'} ${blocks(s)}, ${colourList(p, s)}`,
  ],
  fronted: [],
  statement: [
    (p, s) => `${pk(s, WANT)} a ${keepOr(s.rng, TOWER_NOUNS, 0.4)} with ${roleList(p, s)}`,
    (p, s) => `there should be a ${keepOr(s.rng, TOWER_NOUNS, 0.4)} with ${roleList(p, s)}`,
    (p, s) => `${pk(s, WANT)} a ${heightWord(p, s)} ${keepOr(s.rng, TOWER_NOUNS, 0.4)}: ${onChain(p, s)}`,
  ],
  terse: [(p, s) => `${keepOr(s.rng, TOWER_NOUNS, 0.4)}: ${onChain(p, s)}`],
};

/** Labelled roles ("the red block at the bottom, …") listed bottom-up, top-down or shuffled. */
function roleList(p: TowerPart, s: Style): string {
  const roles = p.colours.length === 2 ? [ROLE_BOTTOM, ROLE_TOP] : [ROLE_BOTTOM, ROLE_MIDDLE, ROLE_TOP];
  const items = p.colours.map((c, i) => `${block(s, c)} ${spell(s, keepOr(s.rng, roles[i]!, 0.4))}`);
  const r = s.rng.next();
  const ordered = r < 0.45 ? items : r < 0.8 ? [...items].reverse() : s.rng.shuffle(items);
  return listJoin(s, ordered);
}

/** "the blue block on the green block on the red block" (top first), explicit by construction. */
function onChain(p: TowerPart, s: Style): string {
  const link = pk(s, [' on ', ' on top of ', ' resting on ']);
  return [...p.colours].reverse().map((c) => block(s, c)).join(link);
}

function baseFirst(p: TowerPart, s: Style): string {
  const [bottom, mid, top] = p.colours;
  const start = `${pk(s, ['start with', 'begin with', 'use'])} ${block(s, bottom!)} as the base`;
  const last = p.colours.length === 2 ? mid! : top!;
  const middle = p.colours.length === 3 ? `, ${pk(s, ['put', 'stack', 'place'])} ${block(s, mid!)} on it,` : '';
  return `${start}${middle} and ${pk(s, ['finish with', 'put', 'cap it with'])} ${block(s, last)} on top`;
}

function heightWord(p: TowerPart, s: Style): string {
  const n = p.colours.length === 2 ? 'two' : 'three';
  return pk(s, [`${n}-block`, `${n}-high`, `${n}-level`]);
}

/** "from the bottom up: red, green and blue" with the colour words only; the kind is named in the lead. */
function colourList(p: TowerPart, s: Style): string {
  const up = chance(s, 0.5);
  const lead = up ? pk(s, ['from the bottom up', 'bottom to top', 'starting from the bottom']) : pk(s, ['from top to bottom', 'top to bottom', 'starting from the top']);
  const cs = up ? p.colours : [...p.colours].reverse();
  return `${lead}: ${listJoin(s, cs.map((c) => colourWord(s, c)))}`;
}

function listJoin(s: Style, items: readonly string[]): string {
  if (items.length < 2) return items.join('');
  const last = items[items.length - 1]!;
  const comma = items.length > 2 && chance(s, 0.3) ? ',' : '';
  return `${items.slice(0, -1).join(', ')}${comma} and ${last}`;
}

// ---------------------------------------------------------------------------------------------------------
// Parts → clauses.

interface Clause { text: string; mood: Mood }

function realise(part: Part, s: Style, imperativeOnly: boolean): Clause {
  const r = s.rng.next();
  const mood: Mood = imperativeOnly || r < 0.5 ? 'imperative' : r < 0.6 ? 'fronted' : r < 0.9 ? 'statement' : 'terse';
  const text = spell(s, templateText(part, mood, s));
  return { text: typo(s, s.terse ? text.replace(/\bthe /g, '') : text), mood };
}

function templateText(part: Part, mood: Mood, s: Style): string {
  switch (part.kind) {
    case 'place': return pickTemplate(PLACE, mood, s)(part, s);
    case 'stack': return pickTemplate(STACK, mood, s)(part, s);
    case 'move': return pickTemplate(MOVE, mood, s)(part, s);
    case 'sort': return pickTemplate(SORT, mood, s)(part, s);
    case 'tower': return pickTemplate(TOWER, mood, s)(part, s);
  }
}

/** A template of the mood, or an imperative where the kind has none of that mood. */
function pickTemplate<P>(table: Templates<P>, mood: Mood, s: Style): Template<P> {
  return s.rng.pick(table[mood].length > 0 ? table[mood] : table.imperative);
}

// ---------------------------------------------------------------------------------------------------------
// Typos.

const PROTECTED = new Set([
  ...Object.values(COLOUR_WORDS).flatMap((ws) => ws.flatMap((w) => w.split(/[\s-]/))),
  'left', 'right', 'above', 'below', 'behind', 'front', 'bottom', 'middle', 'centre', 'center', 'top', 'base',
  'between', 'foundation', 'uppermost', 'first', 'finally', 'then', 'after',
]);

/** With some probability, one typo (swap, drop or double a letter) in one long unprotected word. */
function typo(s: Style, text: string): string {
  if (!chance(s, 0.22)) return text;
  const words = text.split(' ');
  const idx = words.map((w, i) => (/^[a-z]{5,}$/.test(w) && !PROTECTED.has(w) ? i : -1)).filter((i) => i >= 0);
  if (idx.length === 0) return text;
  const i = s.rng.pick(idx);
  const wrong = misspell(s, words[i]!);
  if (PROTECTED.has(wrong)) return text;
  words[i] = wrong;
  return words.join(' ');
}

function misspell(s: Style, w: string): string {
  const k = 1 + s.rng.int(w.length - 2);
  switch (s.rng.int(3)) {
    case 0: return w.slice(0, k) + w[k + 1] + w[k] + w.slice(k + 2);
    case 1: return w.slice(0, k) + w.slice(k + 1);
    default: return w.slice(0, k) + w[k] + w.slice(k);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Composition of parts, wrappers, filler and surface form.

interface Sentence { text: string; question: boolean }

const IMPERATIVE_WRAPS: readonly [string, string, boolean][] = [
  ['', '', false], ['', '', false], ['please ', '', false], ['', ', please', false], ['could you ', '', true],
  ['can you ', '', true], ['would you ', '', true], ['I need you to ', '', false], ["I'd like you to ", '', false],
  ['go ahead and ', '', false], ['your task is to ', '', false], ['', ' for me', false], ['could you please ', '', true],
];

function compose(goal: Goal, s: Style): Sentence[] {
  if (goal.parts.length === 1) return [single(goal.parts[0]!, s)];
  const allThen = goal.joins.every((j) => j === 'then');
  const r = s.rng.next();
  if (allThen && goal.parts.length > 1 && r < 0.15) return numbered(goal, s);
  if (r < 0.55) return [inline(goal, s)];
  return sentences(goal, s);
}

function single(part: Part, s: Style): Sentence {
  const clause = realise(part, s, false);
  if (clause.mood !== 'imperative') return { text: clause.text, question: false };
  const [pre, post, question] = s.rng.pick(IMPERATIVE_WRAPS);
  return { text: `${pre}${clause.text}${post}`, question };
}

const THEN_INLINE = [', then ', ', and then ', ' and then ', '; then ', ', after that ', ', next ', ', and after that ', ", and once that's done, ", ' then '] as const;
const THEN_LAST = [', and finally ', ', and lastly ', ', then finally ', ', and to finish, '] as const;
const AND_INLINE = [' and ', ', and ', ' and also ', ', and also ', ', plus ', '; also '] as const;

function inline(goal: Goal, s: Style): Sentence {
  const wrapped = chance(s, 0.35);
  const clauses = goal.parts.map((p) => realise(p, s, wrapped));
  let text = firstWord(goal, s, clauses[0]!, wrapped) + clauses[0]!.text;
  goal.joins.forEach((j, i) => {
    const last = i === goal.joins.length - 1 && goal.joins.length > 1;
    const link = j === 'and' ? pk(s, AND_INLINE) : last && chance(s, 0.6) ? pk(s, THEN_LAST) : pk(s, THEN_INLINE);
    text += link + clauses[i + 1]!.text;
  });
  if (!wrapped) return { text, question: false };
  const [pre, post, question] = s.rng.pick(IMPERATIVE_WRAPS);
  return { text: `${pre}${text}${post}`, question };
}

/** An optional leading "first" for chains. */
function firstWord(goal: Goal, s: Style, first: Clause, wrapped = false): string {
  if (goal.joins[0] !== 'then' || !chance(s, 0.35)) return '';
  if (wrapped) return 'first ';
  return first.mood === 'imperative' && chance(s, 0.5) ? 'first ' : pk(s, ['first, ', 'first of all, ', 'to start, ']);
}

const THEN_OPEN = ['then ', 'after that, ', 'next, ', "once that's done, ", "when that's done, ", 'afterwards, ', "once you've done that, ", "after you've done that, "] as const;
const THEN_OPEN_LAST = ['finally, ', 'lastly, ', 'and finally, ', 'to finish, ', 'last of all, '] as const;
const AND_OPEN = ['also, ', 'and ', 'in addition, ', 'additionally, ', 'as well as that, ', 'besides that, '] as const;

function sentences(goal: Goal, s: Style): Sentence[] {
  const clauses = goal.parts.map((p) => realise(p, s, false));
  const out: Sentence[] = [{ text: firstWord(goal, s, clauses[0]!) + clauses[0]!.text, question: false }];
  goal.joins.forEach((j, i) => {
    const last = i === goal.joins.length - 1 && goal.joins.length > 1;
    const open = j === 'and' ? pk(s, AND_OPEN) : last && chance(s, 0.6) ? pk(s, THEN_OPEN_LAST) : pk(s, THEN_OPEN);
    out.push({ text: open + clauses[i + 1]!.text, question: false });
  });
  return out;
}

function numbered(goal: Goal, s: Style): Sentence[] {
  const label = s.rng.pick([(n: number) => `${n}) `, (n: number) => `${n}. `, (n: number) => `step ${n}: `, (n: number) => `(${n}) `]);
  const items = goal.parts.map((p, i) => ({ text: label(i + 1) + realise(p, s, false).text, question: false }));
  return chance(s, 0.5) ? [{ text: pk(s, ['do these in order:', 'in this order:', 'steps:']), question: false }, ...items] : items;
}

const PREFIXES = ['ok, ', 'okay, ', 'hey, ', 'robot, ', 'so, ', 'now, ', 'hi robot, ', 'next task: ', 'ok robot, ', 'um, ', 'hmm, ', 'listen, '] as const;
const SUFFIXES = [' please', ' for me', ', if you can', " when you're ready", ' when you get a chance', ' now'] as const;
const SIGN_OFFS = ['thanks!', 'thank you.', 'cheers.', 'thx', 'thanks a lot.', 'much appreciated.'] as const;

/** Filler, end punctuation, sign-off and capitalisation. */
function finish(parts: Sentence[], s: Style): string {
  const body = [...parts];
  if (chance(s, 0.25)) body[0] = { ...body[0]!, text: pk(s, PREFIXES) + body[0]!.text };
  const lastIdx = body.length - 1;
  if (chance(s, 0.2) && !body[lastIdx]!.text.includes('please') && !body[lastIdx]!.text.endsWith('for me')) {
    body[lastIdx] = { ...body[lastIdx]!, text: body[lastIdx]!.text + pk(s, SUFFIXES) };
  }
  const marks = body.map((b, i) => endMark(s, b, i === lastIdx, body.length));
  const sentences = body.map((b, i) => b.text + marks[i]);
  if (chance(s, 0.12)) sentences.push(pk(s, SIGN_OFFS));
  return caseForm(s, sentences);
}

function endMark(s: Style, b: Sentence, last: boolean, n: number): string {
  if (b.question) return chance(s, 0.85) ? '?' : '';
  if (/:$/.test(b.text)) return '';
  if (!last) return '.';
  return s.rng.pick(n > 1 ? ['.', '.', '!'] : ['.', '.', '', '', '!']);
}

function caseForm(s: Style, sentences: string[]): string {
  const r = s.rng.next();
  const joined = sentences.join(' ');
  if (r < 0.03) return joined.toUpperCase();
  if (r < 0.3) return joined.toLowerCase();
  return sentences.map((t) => t.charAt(0).toUpperCase() + t.slice(1)).join(' ');
}

