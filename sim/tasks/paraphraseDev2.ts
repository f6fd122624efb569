import type { Prng } from '../world/Prng.ts';
import { isBlockColour, isBowlColour } from '../world/colours.ts';

/**
 * A second, independently written paraphrase family for canonical goals (dev wording).
 *
 * `paraphraseDev2(goal, rng)` rewords a canonical goal the way operators type or dictate robot
 * commands, varying many dimensions independently: colour shades and synonyms, nouns for blocks and
 * bowls, verbs and prepositions, relation phrases, sentence frames (imperatives, questions, requests,
 * end states, passives, topicalised and fronted clauses), connectors for compounds, politeness and
 * filler, articles, capitalisation and punctuation, and an occasional single typo in a verb or filler
 * word. Every colour is kept (one colour word per mention, see {@link COLOUR_WORDS}), blocks stay blocks,
 * bowls stay bowls, tower positions stay labelled and compound parts keep their order. Randomness comes
 * only from `rng`; text that is not a canonical goal is returned unchanged.
 *
 * @example paraphraseDev2('put the red block in the blue bowl', Prng.from('x', 1)) // e.g. 'Could you drop the crimson cube into the navy dish?'
 */
export function paraphraseDev2(goal: string, rng: Prng): string {
  const parsed = parseCanonical(goal);
  if (!parsed) return goal;
  const ctx = newContext(rng);
  const text = ctx.rng.next() < 0.88 || parsed.parts.length < 2 ? renderGoal(ctx, parsed) : renderList(ctx, parsed);
  return finish(ctx, text, parsed);
}

type Relation = 'left' | 'right' | 'above' | 'below';
type Kind = 'block' | 'bowl';
type Part =
  | { kind: 'place'; block: string; bowl: string }
  | { kind: 'stack'; block: string; onto: string }
  | { kind: 'move'; block: string; relation: Relation; ref: string; refKind: Kind }
  | { kind: 'sort' }
  | { kind: 'tower'; colours: string[] };
type Link = 'and' | 'then';
interface Goal {
  parts: Part[];
  links: Link[];
}

/** Every word that names each colour in this family's output (single lowercase tokens, disjoint). */
export const COLOUR_WORDS: Record<string, readonly string[]> = {
  red: ['red', 'crimson', 'scarlet', 'ruby', 'reddish'],
  green: ['green', 'emerald', 'lime', 'jade', 'greenish'],
  blue: ['blue', 'navy', 'azure', 'cobalt', 'bluish', 'blueish'],
  yellow: ['yellow', 'lemon', 'golden', 'mustard', 'yellowish'],
  purple: ['purple', 'violet', 'lilac', 'lavender', 'plum', 'purplish'],
  orange: ['orange', 'tangerine', 'orangey', 'orangish'],
};

/** Colour phrases; each holds exactly one word from {@link COLOUR_WORDS} for its colour. */
const SHADES: Record<string, readonly string[]> = {
  red: ['bright red', 'dark red', 'crimson', 'scarlet', 'ruby', 'reddish', 'cherry-red', 'fire-engine red'],
  green: ['dark green', 'light green', 'emerald', 'lime', 'jade', 'greenish', 'grass-green', 'forest green'],
  blue: ['dark blue', 'light blue', 'navy', 'azure', 'cobalt', 'bluish', 'royal blue', 'sky-blue', 'blueish'],
  yellow: ['bright yellow', 'lemon', 'golden', 'mustard', 'yellowish', 'canary yellow', 'sunny yellow'],
  purple: ['dark purple', 'violet', 'lilac', 'lavender', 'plum', 'purplish', 'deep purple'],
  orange: ['bright orange', 'tangerine', 'orangey', 'orangish', 'burnt orange', 'pumpkin orange'],
};

/** Nouns for a block and for a bowl (no word is shared between the two lists). */
export const BLOCK_NOUNS: readonly string[] = ['block', 'cube', 'brick', 'block', 'cube', 'block', 'wooden block', 'toy block'];
export const BOWL_NOUNS: readonly string[] = ['bowl', 'dish', 'basin', 'container', 'bowl', 'pot'];

interface Verb {
  base: string;
  ing: string;
  pp: string;
}
const verb = (base: string, ing: string, pp: string): Verb => ({ base, ing, pp });
const PUT = verb('put', 'putting', 'put');
const PLACE = verb('place', 'placing', 'placed');
const SET = verb('set', 'setting', 'set');
const MOVE = verb('move', 'moving', 'moved');
const POP = verb('pop', 'popping', 'popped');
const STICK = verb('stick', 'sticking', 'stuck');
const INTO_VERBS = [PUT, PUT, PLACE, SET, MOVE, POP, STICK, verb('drop', 'dropping', 'dropped'), verb('toss', 'tossing', 'tossed'), verb('transfer', 'transferring', 'transferred'), verb('deposit', 'depositing', 'deposited'), verb('load', 'loading', 'loaded')];
const ONTO_VERBS = [PUT, PLACE, SET, POP, STICK, MOVE, verb('stack', 'stacking', 'stacked'), verb('stack', 'stacking', 'stacked'), verb('pile', 'piling', 'piled'), verb('rest', 'resting', 'rested'), verb('balance', 'balancing', 'balanced')];
const MOVE_VERBS = [MOVE, MOVE, PUT, PLACE, SET, verb('shift', 'shifting', 'shifted'), verb('slide', 'sliding', 'slid'), verb('bring', 'bringing', 'brought'), verb('carry', 'carrying', 'carried'), verb('relocate', 'relocating', 'relocated'), verb('reposition', 'repositioning', 'repositioned'), verb('transport', 'transporting', 'transported')];
const PICK_VERBS = [verb('pick up', 'picking up', 'picked up'), verb('grab', 'grabbing', 'grabbed'), verb('take', 'taking', 'taken'), verb('grasp', 'grasping', 'grasped'), verb('lift', 'lifting', 'lifted')];
const BUILD_VERBS = [verb('build', 'building', 'built'), verb('make', 'making', 'made'), verb('construct', 'constructing', 'constructed'), verb('assemble', 'assembling', 'assembled'), verb('put together', 'putting together', 'put together'), verb('create', 'creating', 'created')];
const SORT_VERBS = [verb('sort', 'sorting', 'sorted'), verb('put', 'putting', 'put'), verb('place', 'placing', 'placed'), verb('organise', 'organising', 'organised'), verb('organize', 'organizing', 'organized'), verb('distribute', 'distributing', 'distributed')];
const INTO_PREPS = ['in', 'into', 'into', 'inside', 'in', 'inside of', 'into'];
const ONTO_PREPS = ['on', 'onto', 'on top of', 'on top of', 'onto', 'atop'];

interface Ctx {
  rng: Prng;
  terse: boolean;
  colourWord: string;
  shades: Map<string, string>;
}

function newContext(rng: Prng): Ctx {
  return { rng, terse: rng.next() < 0.15, colourWord: rng.next() < 0.55 ? 'colour' : 'color', shades: new Map() };
}

const chance = (ctx: Ctx, p: number): boolean => ctx.rng.next() < p;

// ---------------------------------------------------------------- parsing

const MOVE_REL: Record<string, Relation> = { 'to the left of': 'left', 'to the right of': 'right', above: 'above', below: 'below' };
const PLACE_RE = /^(?:put|place) the (\w+) block in the (\w+) bowl$/;
const STACK_RE = /^stack the (\w+) block on the (\w+) block$/;
const MOVE_RE = /^move the (\w+) block (to the left of|to the right of|above|below) the (\w+) (block|bowl)$/;
const TOWER2_RE = /^build a tower with the (\w+) block at the bottom and the (\w+) block on top$/;
const TOWER3_RE = /^build a tower with the (\w+) block at the bottom, the (\w+) block in the middle and the (\w+) block on top$/;
const SORT_TEXT = 'sort the blocks into the bowls of matching colour';

function parseCanonical(goal: string): Goal | null {
  const pieces = goal.split(/(, then | and (?=put |place |stack |move ))/);
  const parts: Part[] = [];
  const links: Link[] = [];
  for (let i = 0; i < pieces.length; i++) {
    if (i % 2 === 1) {
      links.push(pieces[i] === ', then ' ? 'then' : 'and');
      continue;
    }
    const part = parsePart(pieces[i]!);
    if (!part) return null;
    parts.push(part);
  }
  return parts.length > 0 ? { parts, links } : null;
}

function parsePart(text: string): Part | null {
  if (text === SORT_TEXT) return { kind: 'sort' };
  let m = PLACE_RE.exec(text);
  if (m) return isBlockColour(m[1]!) && isBowlColour(m[2]!) ? { kind: 'place', block: m[1]!, bowl: m[2]! } : null;
  m = STACK_RE.exec(text);
  if (m) return isBlockColour(m[1]!) && isBlockColour(m[2]!) ? { kind: 'stack', block: m[1]!, onto: m[2]! } : null;
  m = MOVE_RE.exec(text);
  if (m) {
    const refKind = m[4] as Kind;
    const refOk = refKind === 'bowl' ? isBowlColour(m[3]!) : isBlockColour(m[3]!);
    return isBlockColour(m[1]!) && refOk ? { kind: 'move', block: m[1]!, relation: MOVE_REL[m[2]!]!, ref: m[3]!, refKind } : null;
  }
  m = TOWER3_RE.exec(text) ?? TOWER2_RE.exec(text);
  if (m && m.slice(1).every(isBlockColour)) return { kind: 'tower', colours: m.slice(1) };
  return null;
}

// ---------------------------------------------------------------- noun phrases

function shade(ctx: Ctx, colour: string): string {
  const known = ctx.shades.get(colour);
  if (known && chance(ctx, 0.8)) return known;
  const word = chance(ctx, 0.55) ? colour : ctx.rng.pick(SHADES[colour]!);
  ctx.shades.set(colour, word);
  return word;
}

function determiner(ctx: Ctx): string {
  if (ctx.terse) return chance(ctx, 0.75) ? '' : 'the ';
  const r = ctx.rng.next();
  return r < 0.86 ? 'the ' : r < 0.93 ? 'that ' : r < 0.97 ? 'this ' : '';
}

/** "the crimson cube", "the bowl that's blue", "that blue-coloured dish"; `simple` keeps it possessable. */
function np(ctx: Ctx, colour: string, kind: Kind, simple = false): string {
  const noun = ctx.rng.pick(kind === 'block' ? BLOCK_NOUNS : BOWL_NOUNS);
  const c = shade(ctx, colour);
  const det = determiner(ctx);
  const r = simple || ctx.terse ? 1 : ctx.rng.next();
  if (r < 0.06) return `${det}${noun} that's ${c}`;
  if (r < 0.09) return `${det}${noun} which is ${c}`;
  if (r < 0.14 && !/[ -]/.test(c)) return `${det}${c}-${ctx.colourWord === 'colour' ? 'coloured' : 'colored'} ${noun}`;
  const size = kind === 'block' && chance(ctx, 0.08) ? `${ctx.rng.pick(['little', 'small'])} ` : '';
  return `${det}${size}${c} ${noun}`;
}

// ---------------------------------------------------------------- relations

function sideRel(ctx: Ctx, side: 'left' | 'right', x: string, xs: string): string {
  const compass = side === 'left' ? 'west' : 'east';
  return ctx.rng.pick([
    `to the ${side} of ${x}`,
    `to the ${side} of ${x}`,
    `${side} of ${x}`,
    `on the ${side} of ${x}`,
    `on the ${side} side of ${x}`,
    `just to the ${side} of ${x}`,
    `immediately ${side} of ${x}`,
    `one spot to the ${side} of ${x}`,
    `next to ${x}, on the ${side}`,
    `to the ${side}-hand side of ${x}`,
    `${compass} of ${x}`,
    `to ${xs}'s ${side}`,
    `beside ${x} on the ${side}`,
  ]);
}

function verticalRel(ctx: Ctx, up: boolean, x: string): string {
  const [word, dir, compass, cmp] = up ? ['above', 'up', 'north', 'farther from'] : ['below', 'down', 'south', 'closer to'];
  return ctx.rng.pick([
    `${word} ${x}`,
    `${word} ${x}`,
    `just ${word} ${x} in the picture`,
    `one row ${word} ${x}`,
    `one row ${dir} from ${x}`,
    `in the cell ${word} ${x}`,
    `one spot ${dir} from ${x} in the image`,
    `${compass} of ${x}`,
    `${word} ${x} in the camera view`,
    `one row ${cmp} the robot than ${x}`,
    `in the row ${word} ${x}`,
    `one space ${dir} from ${x}, as seen on camera`,
  ]);
}

function relPhrase(ctx: Ctx, part: Extract<Part, { kind: 'move' }>): string {
  const x = np(ctx, part.ref, part.refKind);
  if (part.relation === 'above' || part.relation === 'below') return verticalRel(ctx, part.relation === 'above', x);
  return sideRel(ctx, part.relation, x, np(ctx, part.ref, part.refKind, true));
}

// ---------------------------------------------------------------- clauses

/** A verb phrase `verb obj tail`, optionally two-step ("grab X and drop it in Y"). */
interface Clause {
  verb: Verb;
  obj: string;
  tail: string;
  second?: { verb: Verb; rest: string };
  pronoun?: string;
}

type Form = 'base' | 'ing';

function renderClause(c: Clause, form: Form): string {
  const first = [c.verb[form], c.obj, c.tail].filter(Boolean).join(' ');
  return c.second ? `${first} and ${c.second.verb[form]} ${c.second.rest}` : first;
}

function clauseFor(ctx: Ctx, part: Part): Clause {
  switch (part.kind) {
    case 'place':
      return objectClause(ctx, part.block, INTO_VERBS, `${ctx.rng.pick(INTO_PREPS)} ${np(ctx, part.bowl, 'bowl')}`);
    case 'stack':
      return objectClause(ctx, part.block, ONTO_VERBS, `${ctx.rng.pick(ONTO_PREPS)} ${np(ctx, part.onto, 'block')}`);
    case 'move':
      return objectClause(ctx, part.block, MOVE_VERBS, relPhrase(ctx, part));
    case 'sort':
      return sortClause(ctx);
    case 'tower':
      return towerClause(ctx, part.colours);
  }
}

function objectClause(ctx: Ctx, block: string, verbs: readonly Verb[], tail: string): Clause {
  const obj = np(ctx, block, 'block');
  if (chance(ctx, 0.14)) return { verb: ctx.rng.pick(PICK_VERBS), obj, tail: '', second: { verb: ctx.rng.pick(verbs), rest: `it ${tail}` } };
  return { verb: ctx.rng.pick(verbs), obj, tail, pronoun: 'it' };
}

function sortClause(ctx: Ctx): Clause {
  const w = ctx.colourWord;
  const wed = w === 'colour' ? 'coloured' : 'colored';
  const plural = chance(ctx, 0.6);
  const obj = plural
    ? ctx.rng.pick(['the blocks', 'all the blocks', 'all of the cubes', 'the cubes', 'the bricks'])
    : ctx.rng.pick(['each block', 'every block', 'each cube', 'each and every block']);
  const [its, match, bowls] = plural ? ['their', 'match', 'bowls'] : ['its', 'matches', 'bowl'];
  const byColour = chance(ctx, 0.15);
  const tail = byColour
    ? `by ${w} into the bowls`
    : ctx.rng.pick([
        `into the bowls of matching ${w}`,
        `into the ${bowls} of the same ${w}`,
        `into the ${bowls} that ${match} ${its} ${w}`,
        `into same-${wed} bowls`,
        `into the matching-${w} ${bowls}`,
        `into the ${plural ? 'dishes' : 'dish'} of the same ${w}`,
        `into ${its} ${w}-matched ${bowls}`,
      ]);
  const verbs = byColour ? SORT_VERBS.filter((v) => /^(sort|organ)/.test(v.base)) : SORT_VERBS;
  return { verb: ctx.rng.pick(verbs), obj, tail, pronoun: plural ? 'them' : undefined };
}

const BOTTOM = ['at the bottom', 'on the bottom', 'at the base', 'as the base', 'as the bottom layer', 'at the very bottom'];
const MIDDLE = ['in the middle', 'in the middle', 'in the centre', 'in the center', 'as the middle layer', 'in between'];
const TOP = ['on top', 'on top', 'at the top', 'on the very top', 'as the top layer', 'up top'];

function towerSpec(ctx: Ctx, colours: readonly string[]): string {
  const names = colours.map((c) => np(ctx, c, 'block'));
  const r = ctx.rng.next();
  if (r < 0.25) {
    const upward = chance(ctx, 0.6);
    const list = listOf(ctx, upward ? names : [...names].reverse());
    return ctx.rng.pick([`${upward ? 'from bottom to top' : 'from top to bottom'}: ${list}`, `of ${list}, ${upward ? 'going from the bottom up' : 'going from the top down'}`, `(${upward ? 'bottom to top' : 'top to bottom'}): ${list}`]);
  }
  const labels = [ctx.rng.pick(BOTTOM), ...(names.length === 3 ? [ctx.rng.pick(MIDDLE)] : []), ctx.rng.pick(TOP)];
  const items = names.map((n, i) => `${n} ${labels[i]}`);
  return `with ${listOf(ctx, chance(ctx, 0.3) ? [...items].reverse() : items)}`;
}

function listOf(ctx: Ctx, items: readonly string[]): string {
  const last = items[items.length - 1]!;
  const head = items.slice(0, -1).join(', ');
  return `${head}${ctx.rng.pick([' and ', ', and ', ', '])}${last}`;
}

function towerClause(ctx: Ctx, colours: readonly string[]): Clause {
  if (chance(ctx, 0.25)) return stackedTower(ctx, colours);
  const obj = ctx.rng.pick(['a tower', 'a tower', 'a stack', 'a little tower', `a ${colours.length}-block tower`, `a ${colours.length === 2 ? 'two' : 'three'}-level tower`]);
  return { verb: ctx.rng.pick(BUILD_VERBS), obj, tail: towerSpec(ctx, colours) };
}

/** "stack B on A (and then C on top of that)": the top-down order is carried by the verbs. */
function stackedTower(ctx: Ctx, colours: readonly string[]): Clause {
  const [a, b, c] = colours.map((col) => np(ctx, col, 'block'));
  const v = ctx.rng.pick(ONTO_VERBS);
  const onA = `${ctx.rng.pick(ONTO_PREPS)} ${a}`;
  if (c === undefined) return { verb: v, obj: b!, tail: `${onA}${chance(ctx, 0.5) ? ' to make a tower' : ''}` };
  const rest = `${c} ${ctx.rng.pick(['on top of that', 'on top of it', 'on top of the pile', 'on top of both'])}`;
  return { verb: v, obj: b!, tail: onA, second: { verb: ctx.rng.pick(ONTO_VERBS), rest } };
}

/** A declarative end state ("the red block goes in the blue bowl"), or null where none fits. */
function stateFor(ctx: Ctx, part: Part): string | null {
  switch (part.kind) {
    case 'place': {
      const [x, y] = [np(ctx, part.block, 'block'), np(ctx, part.bowl, 'bowl')];
      const p = ctx.rng.pick(['in', 'inside', 'in']);
      return ctx.rng.pick([`${x} goes ${p} ${y}`, `${x} belongs ${p} ${y}`, `${x} should end up ${p} ${y}`, `${x} needs to be ${p} ${y}`, `I want ${x} ${p} ${y}`, `${x} ${p} ${y}`, `${x} -> ${y}`, `make sure ${x} ends up ${p} ${y}`]);
    }
    case 'stack': {
      const [x, y] = [np(ctx, part.block, 'block'), np(ctx, part.onto, 'block')];
      if (chance(ctx, 0.2)) return `${y} should have ${x} on top of it`;
      const p = ctx.rng.pick(['on', 'on top of', 'on top of', 'atop']);
      return ctx.rng.pick([`${x} goes ${p} ${y}`, `${x} should sit ${p} ${y}`, `I want ${x} sitting ${p} ${y}`, `${x} ${p} ${y}`, `${x} needs to end up ${p} ${y}`]);
    }
    case 'move': {
      const x = np(ctx, part.block, 'block');
      const rel = relPhrase(ctx, part);
      return ctx.rng.pick([`${x} should end up ${rel}`, `I want ${x} ${rel}`, `${x} goes ${rel}`, `${x} needs to be ${rel}`, `${x} ${rel}`, `make sure ${x} ends up ${rel}`]);
    }
    case 'sort': {
      const w = ctx.colourWord;
      return ctx.rng.pick([`every block should end up in the bowl of the same ${w}`, `each block belongs in the bowl matching its ${w}`, `the blocks go in the bowls that match their ${w}`, `I want each block in its same-${w} bowl`]);
    }
    case 'tower':
      return `${ctx.rng.pick(['I want', 'the goal is', 'end result:', 'what I need is'])} ${ctx.rng.pick(['a tower', 'a stack'])} ${towerSpec(ctx, part.colours)}`;
  }
}

// ---------------------------------------------------------------- sentences

/** One part as an imperative verb phrase, possibly fronted or topicalised. */
function imperative(ctx: Ctx, part: Part, plain = false): string {
  const c = clauseFor(ctx, part);
  const r = plain ? 1 : ctx.rng.next();
  if (r < 0.07 && c.pronoun && !c.second) return `${c.obj}${ctx.rng.pick([': ', ' - ', ', '])}${c.verb.base} ${c.pronoun} ${c.tail}`;
  if (r < 0.11 && c.pronoun && !c.second) return `${ctx.rng.pick(['see', 'you see'])} ${c.obj}? ${c.verb.base} ${c.pronoun} ${c.tail}`;
  if (r < 0.15 && !c.second && part.kind !== 'sort' && part.kind !== 'tower') return `${c.tail}, ${c.verb.base} ${c.obj}`;
  return renderClause(c, 'base');
}

/** A whole single-part goal in one of many frames. */
function single(ctx: Ctx, part: Part): string {
  const r = ctx.rng.next();
  if (r < 0.2) return stateFor(ctx, part) ?? imperative(ctx, part);
  if (r < 0.32) return passive(ctx, part);
  if (r < 0.52) return question(ctx, () => clauseFor(ctx, part));
  if (r < 0.7) return `${ctx.rng.pick(REQUESTS)} ${renderClause(clauseFor(ctx, part), 'base')}`;
  if (r < 0.8 && !ctx.terse) return `please ${renderClause(clauseFor(ctx, part), 'base')}`;
  return imperative(ctx, part);
}

const REQUESTS = ["I'd like you to", 'I need you to', 'I want you to', 'your task is to', 'the job is to', 'go ahead and', 'try to', "let's", 'you should', 'please go and', 'kindly', 'you need to', 'be a dear and'];

function question(ctx: Ctx, clause: () => Clause): string {
  const c = clause();
  if (chance(ctx, 0.25)) return `${ctx.rng.pick(['would you mind', 'how about', 'do you mind'])} ${renderClause(c, 'ing')}?`;
  return `${ctx.rng.pick(['could you', 'can you', 'would you', 'could you please', 'can you please', 'is it possible to', 'would you be able to', 'any chance you could'])} ${renderClause(c, 'base')}?`;
}

function passive(ctx: Ctx, part: Part): string {
  const c = clauseFor(ctx, part);
  if (c.second) return renderClause(c, 'base');
  const pp = `${c.obj} ${c.verb.pp} ${c.tail}`;
  return ctx.rng.pick([`I want ${pp}`, `I'd like ${pp}`, `${c.obj} needs to be ${c.verb.pp} ${c.tail}`, `${c.obj} should be ${c.verb.pp} ${c.tail}`, `have ${pp}`, `get ${pp}, please`]);
}

const THEN_LINKS = [', then ', ', then ', ', and then ', '; then ', '. Then ', '. After that, ', ', after that ', '. Next, ', ' and afterwards ', ', and once that is done, ', '. When you are done with that, ', ', and after that ', '. Once finished, '];
const AND_LINKS = [' and ', ' and ', ', and ', ' and also ', ', plus ', '; also ', ' & ', '. Also, ', ', and in addition ', '. Oh, and '];

/** A compound goal: parts joined in their order, in a shared mode (imperatives or end states). */
function renderGoal(ctx: Ctx, goal: Goal): string {
  if (goal.parts.length === 1) return single(ctx, goal.parts[0]!);
  const states = chance(ctx, 0.15);
  const frame = states ? 'none' : ctx.rng.pick(['none', 'none', 'none', 'ask', 'request']);
  const items = goal.parts.map((p) => (states || chance(ctx, 0.05) ? stateFor(ctx, p) : null) ?? imperative(ctx, p, frame !== 'none'));
  const link = (l: Link): string => {
    const links = (l === 'then' ? THEN_LINKS : AND_LINKS).filter((s) => frame === 'none' || !s.includes('.'));
    return ctx.rng.pick(links);
  };
  const body = items.map((it, i) => (i === 0 ? it : `${link(goal.links[i - 1]!)}${it}`)).join('');
  if (frame === 'ask') return `${ctx.rng.pick(['could you', 'can you', 'would you please'])} ${body}?`;
  if (frame === 'request') return `${ctx.rng.pick(REQUESTS)} ${body}`;
  return body;
}

/** Numbered or "first … then … finally" lists (order kept; "and" parts stay unordered words). */
function renderList(ctx: Ctx, goal: Goal): string {
  const items = goal.parts.map((p) => imperative(ctx, p));
  if (goal.links.every((l) => l === 'then') && chance(ctx, 0.5)) {
    const words = ['first', ...items.slice(1, -1).map(() => ctx.rng.pick(['then', 'next', 'after that'])), ctx.rng.pick(['finally', 'lastly', 'then'])];
    return items.map((it, i) => `${words[i]}${i === 0 ? ',' : ''} ${it}`).join(ctx.rng.pick(['. ', ', ', '; ']));
  }
  const style = ctx.rng.pick(['num', 'step', 'dash']);
  const label = (i: number): string => (style === 'num' ? `${i + 1}) ` : style === 'step' ? `step ${i + 1}: ` : '- ');
  const body = items.map((it, i) => `${label(i)}${it}`).join(style === 'dash' ? '; ' : ' ');
  const intro = goal.links.every((l) => l === 'then') ? 'in this order: ' : 'do these: ';
  return chance(ctx, 0.5) ? `${intro}${body}` : body;
}

// ---------------------------------------------------------------- surface

const PREFIXES = ['hey robot, ', 'ok, ', 'okay so ', 'um, ', 'uh ', 'hi, ', 'robot: ', 'quick task: ', 'so, ', 'now ', 'next up: ', 'hmm, ', 'listen, ', 'if possible, ', 'when you get a chance, ', 'if you can, ', 'hello! ', 'task: ', 'yo, '];
const SUFFIXES = [' please', ', thanks', ', thank you', ', cheers', ' when you can', " if you don't mind", ' asap', ' for me', ' pls', ' thx', ', ta', ' - thanks in advance'];

/** Filler, politeness, at most one typo, then case and final punctuation. */
function finish(ctx: Ctx, text: string, goal: Goal): string {
  let out = text.replace(/\s+/g, ' ').trim();
  const question = out.endsWith('?');
  if (question) out = out.slice(0, -1);
  if (!ctx.terse && chance(ctx, 0.25)) out = ctx.rng.pick(PREFIXES) + out;
  if (!question && chance(ctx, 0.2)) out += ctx.rng.pick(SUFFIXES);
  if (chance(ctx, goal.parts.length > 1 ? 0.22 : 0.15)) out = typo(ctx, out);
  out = applyCase(ctx, out);
  return out + ending(ctx, question);
}

function ending(ctx: Ctx, question: boolean): string {
  if (question) return ctx.rng.pick(['?', '?', '?', '', '??']);
  return ctx.rng.pick(['.', '.', '', '', '!', ' .', '...']);
}

function applyCase(ctx: Ctx, text: string): string {
  const r = ctx.rng.next();
  if (r < 0.03) return text.toUpperCase();
  if (r < 0.3 || ctx.terse) return text.toLowerCase();
  return text.replace(/(^|[.!?]\s+)([a-z])/g, (_m, pre: string, ch: string) => pre + ch.toUpperCase());
}

const PROTECTED = new Set([
  ...Object.values(COLOUR_WORDS).flat(),
  ...[...BLOCK_NOUNS, ...BOWL_NOUNS].flatMap((n) => n.split(' ')),
  ...['left', 'right', 'above', 'below', 'north', 'south', 'east', 'west', 'bottom', 'middle', 'centre', 'center', 'top', 'base', 'closer', 'farther', 'between', 'inside', 'stack', 'tower', 'first', 'finally', 'lastly', 'then', 'after', 'matching', 'colour', 'color', 'coloured', 'colored'],
]);
const ALL_COLOUR_WORDS = new Set(Object.values(COLOUR_WORDS).flat());

/** One typo (swap, drop or double a letter) in a verb or filler word of 6+ letters. */
function typo(ctx: Ctx, text: string): string {
  const words = text.split(' ');
  const eligible = words.map((w, i) => ({ w, i })).filter(({ w }) => /^[a-z]{6,}$/i.test(w) && !PROTECTED.has(w.toLowerCase()));
  if (eligible.length === 0) return text;
  const { w, i } = ctx.rng.pick(eligible);
  const k = 1 + ctx.rng.int(w.length - 2);
  const op = ctx.rng.int(3);
  const changed = op === 0 ? w.slice(0, k) + w[k + 1] + w[k] + w.slice(k + 2) : op === 1 ? w.slice(0, k) + w.slice(k + 1) : w.slice(0, k) + w[k] + w.slice(k);
  if (changed === w || ALL_COLOUR_WORDS.has(changed.toLowerCase())) return text;
  words[i] = changed;
  return words.join(' ');
}
