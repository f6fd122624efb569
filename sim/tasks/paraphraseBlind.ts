/**
 * The `paraphrase-blind` family: a canonical goal re-worded the way a wide range of human operators
 * might type it (terse engineers, chatty users, learners of English), written from general English
 * knowledge only. Every rewording keeps each colour (once per mention), each object kind (block vs
 * bowl), each relation and the order of a goal's parts recoverable by a careful reader.
 *
 * Dimensions, each drawn independently from the goal's own PRNG:
 * - register (plain / terse / chatty / learner), which tilts the odds of the dimensions below;
 * - colour words: the base colour or a shade from `COLOUR_WORDS` (a per-goal rate), and the noun
 *   phrase shape: `red cube`, `red-coloured cube`, `cube that is red`, `cube (red)`; articles dropped
 *   in terse and learner registers; `colour`/`color` spelling;
 * - nouns for block and bowl (`BLOCK_WORDS`, `BOWL_WORDS`), verbs per action, prepositions;
 * - relations (`RELATION_WORDS`): picture words, compass words, `behind`/`in front of`, cell counts,
 *   near/far side, optional "in the image" clarifiers, and the converse (`… so that X is on its right`);
 * - clause structure per part: imperative, pick-up-and-put, end-state statements, wishes, passives,
 *   `make sure`, converse statements, fronted phrases and terse notation; verb gapping across parts;
 * - towers as roles (bottom up or top down), terse role lists, `C on B on A`, or a building sequence;
 * - chains: connectors per join (`and`-type and `then`-type kept apart), `first`/`finally` markers,
 *   numbered steps; the text order of the parts is always the goal's order;
 * - politeness, questions, hedges, adverbs, lead-ins, sign-offs, casing, end punctuation, and at most
 *   one typo in a longer word that is never a colour, relation or order word.
 */
import { type BlockColour, isBlockColour } from '../world/colours.ts';
import type { Prng } from '../world/Prng.ts';

type Relation = 'left' | 'right' | 'above' | 'below';
type Kind = 'block' | 'bowl';
/** A noun with an optional adjective that goes before the colour: `little` + `block` → `little red block`. */
type Noun = readonly [pre: string, head: string];
type Register = 'plain' | 'terse' | 'chatty' | 'learner';
type Join = 'and' | 'then';

type Part =
  | { type: 'place'; block: BlockColour; bowl: BlockColour }
  | { type: 'stack'; block: BlockColour; onto: BlockColour }
  | { type: 'move'; block: BlockColour; relation: Relation; ref: BlockColour; refKind: Kind }
  | { type: 'sort' }
  | { type: 'tower'; colours: BlockColour[] };

interface Ctx {
  rng: Prng;
  reg: Register;
  shadeRate: number;
  nounRate: number;
  color: 'colour' | 'color';
}

/** One rendered part: `imp` when it starts with an imperative verb; `gap` is the verbless form for gapping. */
interface Body {
  text: string;
  imp: boolean;
  marker: string;
}

interface Clause {
  text: string;
  imp: boolean;
  type: Part['type'];
  gap?: string;
}

/** Words for each colour, the base word first. Entries never share a word with another colour's entries. */
export const COLOUR_WORDS: Record<BlockColour, readonly string[]> = {
  red: ['red', 'crimson', 'scarlet', 'cherry red', 'ruby red', 'blood red', 'fire-engine red', 'bright red'],
  green: ['green', 'emerald', 'lime green', 'forest green', 'grass green', 'leaf green', 'jade green', 'dark green'],
  blue: ['blue', 'navy blue', 'royal blue', 'cobalt blue', 'sky blue', 'azure', 'deep blue'],
  yellow: ['yellow', 'lemon yellow', 'canary yellow', 'golden yellow', 'sunflower yellow', 'mustard yellow', 'bright yellow'],
  purple: ['purple', 'violet', 'lilac', 'lavender', 'plum', 'mauve', 'deep purple'],
  orange: ['orange', 'tangerine', 'pumpkin orange', 'carrot orange', 'burnt orange', 'bright orange', 'traffic-cone orange'],
};

export const BLOCK_WORDS: readonly Noun[] = [
  ['', 'block'], ['', 'cube'], ['', 'brick'], ['little', 'block'], ['small', 'cube'], ['wooden', 'block'],
  ['toy', 'block'], ['', 'building block'], ['square', 'block'], ['little', 'cube'], ['', 'cuboid'],
];

export const BOWL_WORDS: readonly Noun[] = [
  ['', 'bowl'], ['', 'dish'], ['', 'basin'], ['', 'container'], ['', 'bin'], ['little', 'bowl'],
  ['round', 'bowl'], ['', 'receptacle'], ['small', 'dish'], ['', 'tub'], ['shallow', 'bowl'],
];

/** Relation phrases; `{x}` is the reference. Phrases without compass or viewer words read as the picture. */
export const RELATION_WORDS: Record<Relation, readonly string[]> = {
  left: [
    'to the left of {x}', 'left of {x}', 'on the left of {x}', 'on the left side of {x}', 'on the left-hand side of {x}',
    "on {x}'s left", 'just left of {x}', 'directly to the left of {x}', 'immediately left of {x}',
    'one cell to the left of {x}', 'one square left of {x}', 'one spot to the left of {x}', 'in the cell left of {x}',
    'next to {x}, on its left side', 'west of {x}', 'to the west of {x}', 'just west of {x}', 'one cell west of {x}',
  ],
  right: [
    'to the right of {x}', 'right of {x}', 'on the right of {x}', 'on the right side of {x}', 'on the right-hand side of {x}',
    "on {x}'s right", 'just right of {x}', 'directly to the right of {x}', 'immediately right of {x}',
    'one cell to the right of {x}', 'one square right of {x}', 'one spot to the right of {x}', 'in the cell right of {x}',
    'next to {x}, on its right side', 'east of {x}', 'to the east of {x}', 'just east of {x}', 'one cell east of {x}',
  ],
  above: [
    'above {x}', 'just above {x}', 'directly above {x}', 'one row above {x}', 'one row up from {x}', 'one cell up from {x}',
    'one square up from {x}', 'in the cell above {x}', 'north of {x}', 'to the north of {x}', 'just north of {x}',
    'behind {x}', 'just behind {x}', 'directly behind {x}', 'on the far side of {x}, away from the robot',
    'one cell further from the robot than {x}', 'one row further back than {x}',
  ],
  below: [
    'below {x}', 'just below {x}', 'directly below {x}', 'one row below {x}', 'one row down from {x}', 'one cell down from {x}',
    'one square down from {x}', 'in the cell below {x}', 'south of {x}', 'to the south of {x}', 'just south of {x}',
    'in front of {x}', 'just in front of {x}', 'directly in front of {x}', 'on the near side of {x}, closer to the robot',
    'one cell closer to the robot than {x}', 'one row further forward than {x}',
  ],
};

const INVERSE: Record<Relation, Relation> = { left: 'right', right: 'left', above: 'below', below: 'above' };
const VIEW_WORDS = /\b(west|east|north|south|behind|front|far|near|robot|back|forward)\b/;
const VIEW_NOTES = [' (in the image)', ' in the top-down view', ', as seen from the camera', ' in the picture', ' on the screen'];

const PLACE_VERBS = ['put', 'place', 'drop', 'set', 'pop', 'stick', 'move', 'transfer', 'deposit', 'get', 'lower', 'load'];
const STACK_VERBS = ['stack', 'put', 'place', 'set', 'pile', 'pop', 'rest', 'sit', 'balance', 'move', 'lay'];
const MOVE_VERBS = ['move', 'shift', 'slide', 'put', 'place', 'bring', 'take', 'push', 'drag', 'relocate', 'set', 'reposition', 'nudge', 'carry', 'get'];
const PICK_VERBS = ['pick up', 'grab', 'take', 'lift', 'pick'];
const INTO = ['in', 'into', 'inside', 'in', 'into'];
const ONTO = ['on', 'onto', 'on top of', 'atop', 'on top of'];
const TOWER_VERBS = ['build', 'make', 'construct', 'assemble', 'put together', 'stack up', 'create', 'set up', 'form'];
const TOWER_NOUNS = ['tower', 'stack', 'pile', 'column'];
const BLOCKY_TOWERS = ['block tower', 'tower of blocks', 'stack of blocks', 'cube tower', 'tower of cubes', 'pile of blocks'];

const SORT_TEMPLATES: readonly (readonly [string, boolean])[] = [
  ['sort the {blocks} into the {bowls} of matching {colour}', true],
  ['sort the {blocks} into the {bowls} that match their {colour}', true],
  ['sort the {blocks} by {colour} into the {bowls}', true],
  ['put each {block} into the {bowl} of the same {colour}', true],
  ['put every {block} in the {bowl} that has the same {colour}', true],
  ['match the {blocks} to the {bowls} by {colour}', true],
  ['drop each {block} into the {bowl} matching its {colour}', true],
  ['group the {blocks} into the {bowls} by {colour}', true],
  ['{colour}-match the {blocks} to the {bowls}', true],
  ['sort the {blocks} into same-{coloured} {bowls}', true],
  ['put the {blocks} into the {bowls} with the corresponding {colour}', true],
  ['place each {block} in the {bowl} whose {colour} matches it', true],
  ['sort by {colour}: {blocks} into the matching {bowls}', true],
  ['tidy the {blocks} away into the {bowls}, matching by {colour}', true],
  ['make sure each {block} ends up in the {bowl} of the same {colour}', true],
  ['get all the {blocks} into the {bowls} of their own {colour}', true],
  ['put blocks to bowls of same {colour}', true],
  ['each {block} should go into the {bowl} of its own {colour}', false],
  ['every {block} goes in the {bowl} with the same {colour}', false],
  ['I want the {blocks} sorted into the {bowls} by {colour}', false],
  ['the {blocks} need to be sorted into the {bowls} of matching {colour}', false],
  ['{blocks} into {bowls} of the same {colour}', false],
];

const THEN_JOINS = [
  ', then ', ', and then ', '. Then ', '. After that, ', '; next, ', ', after that ', ', next ', '. Next, ',
  ' and after that ', '. Once that is done, ', ', and when you are done, ', '; afterwards, ', ' -> ', ' then ',
  '. Afterwards, ', ', and once finished, ', '. When that is done, ',
];
const FINAL_JOINS = [', and finally ', '. Finally, ', ', lastly ', '. Last of all, ', ' and to finish, '];
const AND_JOINS = [' and ', ', and ', ' and also ', ', plus ', ' & ', '; also ', '. Also, ', ', also ', ' and additionally ', '. In addition, '];
const FIRST_MARKERS = ['first ', 'first, ', 'to start, ', 'first of all, '];

/** [prefix, is a question]. Only used before an imperative. */
const POLITE: readonly (readonly [string, boolean])[] = [
  ['please ', false], ['could you ', true], ['can you ', true], ['would you ', true], ['could you please ', true],
  ['can you please ', true], ['would you kindly ', true], ['I need you to ', false], ["I'd like you to ", false],
  ['I want you to ', false], ['go ahead and ', false], ['kindly ', false], ['pls ', false], ['please could you ', true],
  ['you need to ', false], ['your job is to ', false], ['try to ', false], ['now ', false], ['we need to ', false],
  ["let's ", false], ['do me a favour and ', false], ['could I ask you to ', true], ['is it possible to ', true],
];
const GREETINGS = ['hey robot, ', 'robot, ', 'ok so ', 'okay, ', 'alright, ', 'so ', 'um, ', 'task: ', 'goal: ', 'new task: ', 'hi, ', 'hello robot! ', 'instruction: ', 'listen, ', 'well, '];
const SIGN_OFFS = [' please', ', please', ' thanks', ', thank you', ' thx', ' when you get a chance', ' if you can', ' for me', ' asap', ', cheers', ', thanks a lot', ' if possible', ', ty'];
const LEAD_INS = ['okay, here is what I need. ', 'quick one for you. ', "here's the next job. ", "let's tidy up a bit. ", 'alright, listen up. ', 'small task for you. ', 'got a job for you. ', "I've got something for you. "];
const TRAILERS = [' that is all.', ' thanks a lot!', " that's it for now.", ' appreciate it.', ' cheers!', ' :)'];
const ADVERBS = ['just ', 'carefully ', 'gently ', 'quickly ', 'simply '];

const PLACE_RE = /^(?:put|place) the (\w+) block in the (\w+) bowl$/;
const STACK_RE = /^stack the (\w+) block on the (\w+) block$/;
const MOVE_RE = /^move the (\w+) block (to the left of|to the right of|above|below) the (\w+) (block|bowl)$/;
const SORT_TEXT = 'sort the blocks into the bowls of matching colour';
const TOWER2_RE = /^build a tower with the (\w+) block at the bottom and the (\w+) block on top$/;
const TOWER3_RE = /^build a tower with the (\w+) block at the bottom, the (\w+) block in the middle and the (\w+) block on top$/;
const REL_OF: Record<string, Relation> = { 'to the left of': 'left', 'to the right of': 'right', above: 'above', below: 'below' };

/** Words a typo must never touch: colours, relations, tower roles and order words. */
const PROTECTED = new Set<string>([
  ...Object.values(COLOUR_WORDS).flatMap((ws) => ws.flatMap((w) => w.split(/[\s-]+/))),
  ...('left right above below behind front north south east west near far side further forward closer away top bottom middle ' +
    'base foundation centre second highest lowest between underneath inside into onto atop then first finally lastly after ' +
    'afterwards before next once finish finishing start starting last').split(' '),
]);

/** A canonical goal worded like an operator might say it; any other text comes back unchanged. */
export function paraphraseBlind(goal: string, rng: Prng): string {
  const parsed = parseCanonical(goal);
  if (!parsed) return goal;
  const ctx = makeCtx(rng);
  const clauses = parsed.parts.map((p) => renderPart(ctx, p));
  return finish(ctx, assemble(ctx, clauses, parsed.joins));
}

// ---------------------------------------------------------------------------------------- parsing

function parseCanonical(goal: string): { parts: Part[]; joins: Join[] } | null {
  const text = goal.trim().toLowerCase().replace(/[.!?]+$/, '').trim();
  const pieces = text.split(/(, then | and (?=(?:put|place|stack|move) ))/);
  const parts: Part[] = [];
  const joins: Join[] = [];
  for (let i = 0; i < pieces.length; i++) {
    if (i % 2 === 1) {
      joins.push(pieces[i] === ', then ' ? 'then' : 'and');
      continue;
    }
    const part = parsePart(pieces[i]!.trim());
    if (!part) return null;
    parts.push(part);
  }
  return parts.length > 0 ? { parts, joins } : null;
}

function parsePart(text: string): Part | null {
  if (text === SORT_TEXT) return { type: 'sort' };
  const colours = (m: RegExpExecArray | null, n: number): BlockColour[] | null => {
    const cs = m ? m.slice(1, n + 1) : [];
    return m && cs.every(isBlockColour) ? (cs as BlockColour[]) : null;
  };
  const place = colours(PLACE_RE.exec(text), 2);
  if (place) return { type: 'place', block: place[0]!, bowl: place[1]! };
  const stack = colours(STACK_RE.exec(text), 2);
  if (stack) return { type: 'stack', block: stack[0]!, onto: stack[1]! };
  const tower = colours(TOWER2_RE.exec(text), 2) ?? colours(TOWER3_RE.exec(text), 3);
  if (tower) return { type: 'tower', colours: tower };
  const m = MOVE_RE.exec(text);
  if (m && isBlockColour(m[1]!) && isBlockColour(m[3]!)) {
    return { type: 'move', block: m[1], relation: REL_OF[m[2]!]!, ref: m[3], refKind: m[4] === 'bowl' ? 'bowl' : 'block' };
  }
  return null;
}

// ---------------------------------------------------------------------------------------- helpers

function makeCtx(rng: Prng): Ctx {
  const r = rng.next();
  const reg: Register = r < 0.4 ? 'plain' : r < 0.6 ? 'chatty' : r < 0.8 ? 'terse' : 'learner';
  return {
    rng,
    reg,
    shadeRate: rng.pick([0.15, 0.35, 0.6, 0.85]),
    nounRate: rng.pick([0.2, 0.45, 0.7]),
    color: rng.next() < 0.55 ? 'colour' : 'color',
  };
}

function chance(ctx: Ctx, p: number): boolean {
  return ctx.rng.next() < p;
}

function oneOf<T>(ctx: Ctx, items: readonly T[]): T {
  return ctx.rng.pick(items);
}

/** Picks one option by weight and runs it. */
function weighted<T>(ctx: Ctx, options: readonly (readonly [number, () => T])[]): T {
  const total = options.reduce((s, [w]) => s + w, 0);
  let r = ctx.rng.next() * total;
  for (const [w, make] of options) {
    if ((r -= w) < 0) return make();
  }
  return options[options.length - 1]![1]();
}

function colourWord(ctx: Ctx, colour: BlockColour): string {
  const words = COLOUR_WORDS[colour];
  return chance(ctx, ctx.shadeRate) ? oneOf(ctx, words.slice(1)) : words[0]!;
}

function noun(ctx: Ctx, kind: Kind): Noun {
  const words = kind === 'block' ? BLOCK_WORDS : BOWL_WORDS;
  return chance(ctx, ctx.nounRate) ? oneOf(ctx, words.slice(1)) : words[0]!;
}

function join(...words: string[]): string {
  return words.filter((w) => w !== '').join(' ');
}

function article(ctx: Ctx): string {
  const drop = ctx.reg === 'terse' || ctx.reg === 'learner' ? 0.6 : 0.05;
  if (chance(ctx, drop)) return '';
  return chance(ctx, 0.06) ? 'that' : 'the';
}

/** A noun phrase for one object; `simple` keeps the colour before the noun. */
function np(ctx: Ctx, colour: BlockColour, kind: Kind, simple = false): string {
  const c = colourWord(ctx, colour);
  const [pre, head] = noun(ctx, kind);
  const art = article(ctx);
  const single = !c.includes(' ');
  const coloured = ctx.color === 'colour' ? 'coloured' : 'colored';
  const core = simple
    ? join(pre, c, head)
    : weighted(ctx, [
        [80, () => join(pre, c, head)],
        [single ? 7 : 0, () => join(pre, `${c}-${coloured}`, head)],
        [7, () => `${join(pre, head)} ${oneOf(ctx, ['that is', "that's", 'which is'])} ${c}`],
        [ctx.reg === 'terse' ? 8 : 0, () => `${join(pre, head)} (${c})`],
      ]);
  return join(art, core);
}

function fill(template: string, x: string): string {
  return x === 'it' ? template.replace("{x}'s", 'its').replace('{x}', 'it') : template.replace('{x}', x);
}

function relation(ctx: Ctx, rel: Relation, ref: string): string {
  const template = oneOf(ctx, RELATION_WORDS[rel]);
  const note = !VIEW_WORDS.test(template) && chance(ctx, 0.15) ? oneOf(ctx, VIEW_NOTES) : '';
  return fill(template, ref) + note;
}

function plural(word: string): string {
  return /(sh|ch|s|x)$/.test(word) ? `${word}es` : `${word}s`;
}

// ---------------------------------------------------------------------------------------- parts

function renderPart(ctx: Ctx, part: Part): Clause {
  switch (part.type) {
    case 'place':
      return placeClause(ctx, np(ctx, part.block, 'block'), np(ctx, part.bowl, 'bowl'));
    case 'stack':
      return stackClause(ctx, np(ctx, part.block, 'block'), np(ctx, part.onto, 'block'));
    case 'move':
      return moveClause(ctx, np(ctx, part.block, 'block'), np(ctx, part.ref, part.refKind), part.relation);
    case 'sort':
      return sortClause(ctx);
    case 'tower':
      return towerClause(ctx, part.colours);
  }
}

function placeClause(ctx: Ctx, obj: string, bowl: string): Clause {
  const into = ctx.reg === 'learner' && chance(ctx, 0.4) ? oneOf(ctx, ['to', 'inside of', 'into']) : oneOf(ctx, INTO);
  const inside = oneOf(ctx, ['in', 'inside']);
  const clause = (text: string, imp: boolean, gap?: string): Clause => ({ text, imp, type: 'place', gap });
  const terse = ctx.reg === 'terse' ? 10 : 1;
  return weighted(ctx, [
    [40, () => {
      const verb = oneOf(ctx, PLACE_VERBS);
      const prep = verb === 'load' ? 'into' : into;
      return clause(`${verb} ${obj} ${prep} ${bowl}`, true, `${obj} ${prep} ${bowl}`);
    }],
    [7, () => clause(`${oneOf(ctx, PICK_VERBS)} ${obj} and ${oneOf(ctx, ['put', 'drop', 'place', 'set'])} it ${into} ${bowl}`, true)],
    [8, () => clause(`${obj} ${oneOf(ctx, ['should end up', 'needs to be', 'belongs', 'must end up', 'should be'])} ${inside} ${bowl}`, false)],
    [5, () => clause(`${obj} ${oneOf(ctx, ['goes', 'should go', 'has to go'])} ${into} ${bowl}`, false)],
    [6, () => clause(`${oneOf(ctx, ['I want', "I'd like", 'I need'])} ${obj} ${inside} ${bowl}`, false)],
    [5, () => clause(`make sure ${obj} ${oneOf(ctx, ['ends up in', 'is in', 'gets into', 'lands in'])} ${bowl}`, true)],
    [6, () => clause(`${bowl} should ${oneOf(ctx, ['contain', 'hold', 'end up holding'])} ${obj}`, false)],
    [3, () => clause(`${bowl} should have ${obj} ${oneOf(ctx, ['in it', 'inside it', 'inside'])}`, false)],
    [6, () => clause(`${obj} ${oneOf(ctx, ['should be', 'needs to be', 'has to be', 'must be'])} ${oneOf(ctx, ['put', 'placed', 'dropped', 'moved', 'set'])} ${into} ${bowl}`, false)],
    [3, () => clause(`have ${obj} ${oneOf(ctx, ['put', 'placed', 'dropped'])} ${into} ${bowl}`, true)],
    [5, () => clause(`${oneOf(ctx, ['into', 'in'])} ${bowl}, ${oneOf(ctx, ['put', 'place', 'drop'])} ${obj}`, false)],
    [3, () => clause(`${bowl} is where ${obj} ${oneOf(ctx, ['goes', 'should go', 'belongs'])}`, false)],
    [terse, () => clause(`${obj} ${oneOf(ctx, ['into', 'in', 'inside'])} ${bowl}`, false)],
  ]);
}

function stackClause(ctx: Ctx, obj: string, onto: string): Clause {
  const on = oneOf(ctx, ONTO);
  const onState = oneOf(ctx, ['on', 'on top of', 'sitting on', 'resting on']);
  const clause = (text: string, imp: boolean, gap?: string): Clause => ({ text, imp, type: 'stack', gap });
  const terse = ctx.reg === 'terse' ? 10 : 1;
  return weighted(ctx, [
    [40, () => {
      const verb = oneOf(ctx, STACK_VERBS);
      const prep = verb === 'stack' ? oneOf(ctx, ['on', 'onto', 'on top of']) : on;
      return clause(`${verb} ${obj} ${prep} ${onto}`, true, `${obj} ${prep} ${onto}`);
    }],
    [7, () => clause(`${oneOf(ctx, PICK_VERBS)} ${obj} and ${oneOf(ctx, ['stack', 'put', 'set', 'place'])} it ${on} ${onto}`, true)],
    [8, () => clause(`${obj} ${oneOf(ctx, ['should end up', 'should be', 'needs to be', 'has to sit', 'belongs'])} ${oneOf(ctx, ['on', 'on top of'])} ${onto}`, false)],
    [4, () => clause(`${obj} ${oneOf(ctx, ['goes', 'should go'])} ${oneOf(ctx, ['on', 'onto', 'on top of'])} ${onto}`, false)],
    [6, () => clause(`${oneOf(ctx, ['I want', "I'd like", 'I need'])} ${obj} ${onState} ${onto}`, false)],
    [5, () => clause(`make sure ${obj} ${oneOf(ctx, ['ends up on top of', 'is on', 'sits on top of'])} ${onto}`, true)],
    [6, () => clause(`${onto} should have ${obj} ${oneOf(ctx, ['on top of it', 'on top', 'sitting on it', 'stacked on it'])}`, false)],
    [3, () => clause(`use ${onto} as the base for ${obj}`, true)],
    [6, () => clause(`${obj} ${oneOf(ctx, ['should be', 'needs to be', 'has to be'])} ${oneOf(ctx, ['stacked', 'placed', 'put', 'set'])} ${oneOf(ctx, ['on', 'onto', 'on top of'])} ${onto}`, false)],
    [5, () => clause(`on top of ${onto}, ${oneOf(ctx, ['stack', 'put', 'place'])} ${obj}`, false)],
    [terse, () => clause(`${obj} ${oneOf(ctx, ['on', 'on top of', 'onto'])} ${onto}`, false)],
  ]);
}

function moveClause(ctx: Ctx, obj: string, ref: string, rel: Relation): Clause {
  const where = relation(ctx, rel, ref);
  const clause = (text: string, imp: boolean, gap?: string): Clause => ({ text, imp, type: 'move', gap });
  const terse = ctx.reg === 'terse' ? 10 : 1;
  return weighted(ctx, [
    [40, () => clause(`${oneOf(ctx, MOVE_VERBS)} ${obj} ${where}`, true, `${obj} ${where}`)],
    [6, () => clause(`${oneOf(ctx, PICK_VERBS)} ${obj} and ${oneOf(ctx, ['put', 'set', 'place'])} it down ${where}`, true)],
    [8, () => clause(`${obj} ${oneOf(ctx, ['should end up', 'should be', 'needs to be', 'should sit', 'has to be'])} ${where}`, false)],
    [4, () => clause(`${obj} ${oneOf(ctx, ['goes', 'belongs', 'should go'])} ${where}`, false)],
    [5, () => clause(`${oneOf(ctx, ['I want', "I'd like", 'I need'])} ${obj} ${where}`, false)],
    [3, () => clause(`I'd like ${obj} to be ${where}`, false)],
    [5, () => clause(`make sure ${obj} ${oneOf(ctx, ['ends up', 'is', 'sits'])} ${where}`, true)],
    [8, () => clause(`${oneOf(ctx, MOVE_VERBS)} ${obj} so ${oneOf(ctx, ['that ', ''])}${ref} ${oneOf(ctx, ['is', 'ends up', 'sits'])} ${relation(ctx, INVERSE[rel], 'it')}`, true)],
    [6, () => clause(`${obj} ${oneOf(ctx, ['should be', 'needs to be', 'has to be'])} ${oneOf(ctx, ['moved', 'placed', 'shifted', 'put'])} ${where}`, false)],
    [4, () => clause(`${where}, ${oneOf(ctx, ['put', 'place', 'move', 'set'])} ${obj}`, false)],
    [4, () => clause(`${where} is where ${obj} ${oneOf(ctx, ['goes', 'should go', 'needs to be'])}`, false)],
    [terse, () => clause(`${obj}${oneOf(ctx, [':', ' =>', ' to'])} ${where}`, false)],
  ]);
}

function sortClause(ctx: Ctx): Clause {
  const [template, imp] = oneOf(ctx, SORT_TEMPLATES);
  const pluralColour = /(their|corresponding|matching) \{colour\}/.test(template) && chance(ctx, 0.3);
  const block = join(...noun(ctx, 'block'));
  const bowl = join(...noun(ctx, 'bowl'));
  const text = template
    .replace('{blocks}', plural(block))
    .replace('{block}', block)
    .replace('{bowls}', plural(bowl))
    .replace('{bowl}', bowl)
    .replace('{colour}', pluralColour ? `${ctx.color}s` : ctx.color)
    .replace('{coloured}', ctx.color === 'colour' ? 'coloured' : 'colored');
  return { text, imp, type: 'sort' };
}

// ---------------------------------------------------------------------------------------- towers

function towerClause(ctx: Ctx, colours: readonly BlockColour[]): Clause {
  const bare = chance(ctx, 0.4);
  const names = colours.map((c) => (bare ? colourWord(ctx, c) : np(ctx, c, 'block', true)));
  const three = names.length === 3;
  const tower = bare ? oneOf(ctx, BLOCKY_TOWERS) : oneOf(ctx, [...TOWER_NOUNS, ...BLOCKY_TOWERS]);
  const size = !tower.includes(' of ') && chance(ctx, 0.3) ? `${oneOf(ctx, three ? ['three-block', '3-block', 'three-level', 'three-high'] : ['two-block', '2-block', 'two-level', 'two-high'])} ` : '';
  const anyVerb = oneOf(ctx, TOWER_VERBS);
  const verb = (ctx.reg === 'learner' && chance(ctx, 0.3)) || (tower.startsWith('stack') && anyVerb.startsWith('stack')) ? 'make' : anyVerb;
  const a = ctx.reg === 'learner' && chance(ctx, 0.5) ? '' : 'a ';
  const noun = `${a}${size}${tower}`;
  const roles = () => (three ? roles3(ctx, names) : roles2(ctx, names));
  const list = () => (three ? list3(ctx, names) : list2(ctx, names));
  const clause = (text: string, imp: boolean): Clause => ({ text, imp, type: 'tower' });
  return weighted(ctx, [
    [30, () => clause(`${verb} ${noun} with ${roles()}`, true)],
    [15, () => clause(`${verb} ${noun}: ${list()}`, true)],
    [8, () => clause(`${verb} ${noun}, ${roles()}`, true)],
    [8, () => clause(`${oneOf(ctx, ['I want', "I'd like", 'I need'])} ${noun} with ${roles()}`, false)],
    [5, () => clause(`${oneOf(ctx, ['time to build', 'next up is', 'we want'])} ${noun}: ${list()}`, false)],
    [ctx.reg === 'terse' ? 12 : 3, () => clause(`${tower}: ${list()}`, false)],
    [8, () => clause(`${verb} ${noun} by ${sequence(ctx, names)}`, true)],
  ]);
}

/** Names are bottom first. */
function roles2(ctx: Ctx, [a, b]: readonly string[]): string {
  return oneOf(ctx, [
    `${a} at the bottom and ${b} on top`, `${a} on the bottom and ${b} on top`, `${a} as the base and ${b} on top`,
    `${a} as the base and ${b} on top of it`, `${b} on top and ${a} at the bottom`, `${b} at the top and ${a} at the base`,
    `${b} sitting on ${a}`, `${b} on top of ${a}`, `${a} at the base and ${b} stacked on it`, `${a} as the foundation and ${b} on top`,
  ]);
}

function roles3(ctx: Ctx, [a, b, c]: readonly string[]): string {
  return oneOf(ctx, [
    `${a} at the bottom, ${b} in the middle and ${c} on top`, `${a} at the bottom, ${b} in the middle, and ${c} on top`,
    `${c} on top, ${b} in the middle and ${a} at the bottom`, `${a} as the base, ${b} in the middle and ${c} at the top`,
    `${a} on the bottom, ${b} on it and ${c} on top`, `${a} at the base, ${b} second and ${c} at the very top`,
    `${a} lowest, ${b} in between and ${c} highest`, `${b} in the middle, ${a} at the bottom and ${c} on top`,
    `${a} as the foundation, ${b} in the centre and ${c} on top`,
  ]);
}

function list2(ctx: Ctx, [a, b]: readonly string[]): string {
  return oneOf(ctx, [
    `bottom ${a}, top ${b}`, `top ${b}, bottom ${a}`, `from bottom to top ${a}, ${b}`, `${a} (bottom), ${b} (top)`,
    `${a} bottom / ${b} top`, `from the top down ${b}, ${a}`, `${b} on ${a}`, `${a} first, ${b} on top`,
  ]);
}

function list3(ctx: Ctx, [a, b, c]: readonly string[]): string {
  return oneOf(ctx, [
    `bottom ${a}, middle ${b}, top ${c}`, `top ${c}, middle ${b}, bottom ${a}`, `from bottom to top ${a}, ${b}, ${c}`,
    `from the top down ${c}, ${b}, ${a}`, `${a} (bottom), ${b} (middle), ${c} (top)`, `${a} / ${b} / ${c}, bottom to top`,
    `${c} on ${b} on ${a}`, `from the ground up ${a}, ${b}, ${c}`,
  ]);
}

function sequence(ctx: Ctx, names: readonly string[]): string {
  const [a, b, c] = names;
  if (c === undefined) return oneOf(ctx, [`putting ${b} on top of ${a}`, `stacking ${b} on ${a}`, `setting ${b} onto ${a}`]);
  return oneOf(ctx, [
    `starting with ${a}, adding ${b} on it and finishing with ${c} on top`,
    `putting ${b} on ${a} and finishing with ${c} on top`,
    `using ${a} as the base, ${b} in the middle and ${c} as the top`,
  ]);
}

// ---------------------------------------------------------------------------------------- chains

/** Joins the parts in their goal order. `imp`: the whole starts with an imperative; `marker`: a `first` to put before it. */
function assemble(ctx: Ctx, clauses: readonly Clause[], joins: readonly Join[]): Body {
  const first = clauses[0]!;
  if (clauses.length === 1) return { text: first.text, imp: first.imp, marker: '' };
  if (joins.every((j) => j === 'then') && chance(ctx, 0.12)) return { text: numbered(ctx, clauses), imp: false, marker: '' };
  let text = first.text;
  let prev = first;
  let gapped = false;
  for (let i = 1; i < clauses.length; i++) {
    const cur = clauses[i]!;
    const gap: string | undefined = !gapped && prev.gap !== undefined && cur.type === prev.type && chance(ctx, 0.3) ? cur.gap : undefined;
    text += connector(ctx, joins[i - 1]!, i === clauses.length - 1 && clauses.length > 2, gap !== undefined) + (gap ?? cur.text);
    gapped = gap !== undefined;
    prev = cur;
  }
  const marker = joins[0] === 'then' && chance(ctx, 0.25) ? oneOf(ctx, FIRST_MARKERS) : '';
  return { text, imp: first.imp, marker };
}

function connector(ctx: Ctx, j: Join, last: boolean, gap: boolean): string {
  if (gap) return j === 'and' ? oneOf(ctx, [' and ', ', and ']) : oneOf(ctx, [', then ', ' and then ', ', and then ']);
  if (j === 'and') return oneOf(ctx, AND_JOINS);
  return last && chance(ctx, 0.4) ? oneOf(ctx, FINAL_JOINS) : oneOf(ctx, THEN_JOINS);
}

function numbered(ctx: Ctx, clauses: readonly Clause[]): string {
  const style = ctx.rng.int(4);
  return clauses
    .map((c, i) => [`${i + 1}. ${c.text}.`, `${i + 1}) ${c.text}`, `step ${i + 1}: ${c.text}.`, `(${i + 1}) ${c.text}`][style]!)
    .join(style === 1 ? oneOf(ctx, [', ', '; ', ' ']) : ' ');
}

// ---------------------------------------------------------------------------------------- surface

const WRAP_ODDS: Record<Register, { polite: number; greet: number; sign: number; lead: number; adverb: number }> = {
  plain: { polite: 0.35, greet: 0.1, sign: 0.12, lead: 0.03, adverb: 0.08 },
  chatty: { polite: 0.7, greet: 0.35, sign: 0.4, lead: 0.35, adverb: 0.3 },
  terse: { polite: 0.05, greet: 0.15, sign: 0.04, lead: 0, adverb: 0.02 },
  learner: { polite: 0.45, greet: 0.08, sign: 0.2, lead: 0.05, adverb: 0.05 },
};

function finish(ctx: Ctx, { text: body, imp, marker }: Body): string {
  const odds = WRAP_ODDS[ctx.reg];
  let text = body;
  let question = false;
  if (imp && chance(ctx, odds.adverb)) text = oneOf(ctx, ADVERBS) + text;
  text = marker + text;
  if (imp && chance(ctx, odds.polite)) {
    const [prefix, q] = oneOf(ctx, POLITE);
    text = prefix + text;
    question = q && chance(ctx, 0.85);
  }
  if (chance(ctx, odds.greet)) text = oneOf(ctx, GREETINGS) + text;
  if (chance(ctx, odds.lead)) text = oneOf(ctx, LEAD_INS) + text;
  if (chance(ctx, odds.sign)) text += oneOf(ctx, SIGN_OFFS);
  text = addTypo(ctx, text);
  text = punctuate(ctx, text, question);
  if (ctx.reg === 'chatty' && chance(ctx, 0.2)) text += (/[.!?]$/.test(text) ? '' : '.') + oneOf(ctx, TRAILERS);
  return recase(ctx, text);
}

function punctuate(ctx: Ctx, text: string, question: boolean): string {
  if (/[.!?]$/.test(text)) return text;
  if (question) return `${text}?`;
  const none = ctx.reg === 'terse' ? 0.7 : 0.3;
  if (chance(ctx, none)) return text;
  return text + oneOf(ctx, ['.', '.', '.', '!', '...']);
}

function recase(ctx: Ctx, text: string): string {
  const r = ctx.rng.next();
  if (r < 0.3) return text.toLowerCase();
  if (r < 0.35) return text.toUpperCase();
  if (r < 0.5) return text.charAt(0).toUpperCase() + text.slice(1);
  return text.replace(/(^|[.!?]\s+)([a-z])/g, (_, lead: string, ch: string) => lead + ch.toUpperCase()).replace(/\bi\b(?=[ '])/g, 'I');
}

/** At most one typo: a swap, drop or doubling inside an unprotected word of six letters or more. */
function addTypo(ctx: Ctx, text: string): string {
  const rate = ctx.reg === 'terse' || ctx.reg === 'chatty' ? 0.25 : 0.15;
  if (!chance(ctx, rate)) return text;
  const words = [...text.matchAll(/[a-z]{6,}/gi)].filter((m) => !PROTECTED.has(m[0].toLowerCase()) && !isBound(text, m.index));
  if (words.length === 0) return text;
  const m = oneOf(ctx, words);
  const typo = misspell(ctx, m[0]);
  if (PROTECTED.has(typo.toLowerCase())) return text;
  return text.slice(0, m.index) + typo + text.slice(m.index + m[0].length);
}

/** Whether the word at `index` is glued to a neighbour by a hyphen (part of a compound such as a colour). */
function isBound(text: string, index: number): boolean {
  return text.charAt(index - 1) === '-' || /^[a-z]*-/i.test(text.slice(index));
}

function misspell(ctx: Ctx, word: string): string {
  const i = 1 + ctx.rng.int(word.length - 2);
  switch (ctx.rng.int(3)) {
    case 0:
      return word.slice(0, i) + word.charAt(i + 1) + word.charAt(i) + word.slice(i + 2);
    case 1:
      return word.slice(0, i) + word.slice(i + 1);
    default:
      return word.slice(0, i) + word.charAt(i) + word.slice(i);
  }
}
