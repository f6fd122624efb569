/**
 * Free wording → the tabletop grammar (sim/GRAMMAR.md) by reading what it says rather than matching
 * its shape: the goal is cut into its steps, and each step's object mentions (a colour word with an
 * object noun), its action cues (in, on top, a direction, sort, tower) and the order of those are
 * enough to write the canonical sentence. Word lists are broad general-English classes (shades,
 * container nouns, compass words), not one paraphrase family's words. Null when a step cannot be
 * read unambiguously: the caller keeps the text as it was.
 *
 * @example readGoal('the grass green basin should end up with the little orange cube')
 *   // 'put the orange block in the green bowl'
 */
export function readGoal(goal: string): string | null {
  const steps = splitSteps(normalise(goal));
  if (steps.length === 0) return null;
  let out = '';
  for (const [i, step] of steps.entries()) {
    const read = readStep(step.text);
    if (!read) return null;
    out += (i === 0 ? '' : step.join === 'and' && /^(?:put|stack|move)/.test(read[0]!) ? ' and ' : ', then ') + read.join(' and ');
  }
  return out;
}

type Colour = 'red' | 'green' | 'blue' | 'yellow' | 'purple' | 'orange';
type Kind = 'block' | 'bowl';
type Direction = 'left' | 'right' | 'above' | 'below';
interface Mention {
  colour: Colour;
  kind: Kind | undefined;
  /** Word index of the colour word, and of the phrase's first word ("forest" in "forest green"). */
  at: number;
  start: number;
}

/** Shades and names of each colour (a word, or the last word of a phrase such as "forest green"). */
const SHADES: Record<Colour, string[]> = {
  red: 'red reddish crimson scarlet ruby cherry cardinal carmine vermilion vermillion garnet maroon burgundy wine claret blood rose tomato cranberry strawberry rust ruddy cerise'.split(' '),
  green: 'green greenish emerald jade lime olive mint sage forest grass kelly moss pine leaf chartreuse pea avocado shamrock viridian malachite'.split(' '),
  blue: 'blue bluish blueish navy azure cobalt sapphire cerulean cyan teal indigo ultramarine sky royal denim cornflower turquoise aqua steel midnight ocean baby'.split(' '),
  yellow: 'yellow yellowish gold golden lemon canary mustard butter sunflower sunshine banana daffodil saffron honey corn dandelion citrine'.split(' '),
  purple: 'purple purplish violet lilac lavender plum amethyst mauve magenta grape orchid eggplant aubergine mulberry heather periwinkle fuchsia'.split(' '),
  orange: 'orange orangish orangey tangerine amber apricot peach pumpkin carrot copper tangelo mandarin marmalade persimmon ochre coral clementine'.split(' '),
};
/** Words that only modify a following colour word ("forest green", "sky blue", "rose red"): read the last colour word. */
const COLOUR_OF = new Map<string, Colour>(Object.entries(SHADES).flatMap(([c, ws]) => ws.map((w) => [w, c as Colour] as [string, Colour])));

const BLOCK_NOUNS = 'block blocks cube cubes brick bricks box boxes piece pieces square squares cuboid cuboids tile tiles chunk chunks token tokens one'.split(' ');
const BOWL_NOUNS = 'bowl bowls dish dishes basin basins container containers receptacle receptacles cup cups pot pots tray trays plate plates bin bins vessel vessels tub tubs holder holders saucer saucers pan pans'.split(' ');
/** Words that tie a colour back to the noun before it ("the bowl that is red"). */
const RELATIVE = new Set(['that', 'which', 'is', "that's", 'thats', "which's", 'whose', 'coloured', 'painted']);
const KIND_OF = new Map<string, Kind>([...BLOCK_NOUNS.map((w) => [w, 'block'] as [string, Kind]), ...BOWL_NOUNS.map((w) => [w, 'bowl'] as [string, Kind])]);

/** Phrases naming a direction, longest first (matched on the normalised text). */
const DIRECTIONS: [RegExp, Direction][] = [
  [/\b(?:left|west|westward)\b/, 'left'],
  [/\b(?:right|east|eastward)\b/, 'right'],
  [/\b(?:above|behind|north|northward|up from|row up|further back|farther back|beyond|back of|in back of|upward of|higher than|(?:further|farther) (?:away )?from (?:the robot|you|me|the camera|the base)|rows? higher)\b/, 'above'],
  [/\b(?:below|beneath|underneath|under|in front of|south|southward|down from|row down|nearer|closer|lower than|front of|rows? lower)\b/, 'below'],
];

const SORT_CUE = /\b(?:sort|sorted|sorting|organi[sz]e|match(?:es|ed|ing)?|same colou?r(?:ed)?|own colou?r(?:ed)?|corresponding|by colou?r|colou?r coded|like colou?r(?:ed)?|colou?r matched)\b/;
const TOWER_CUE = /\b(?:tower|column|pile|stack of|pillar|totem|skyscraper|stack them|three[- ]high|two[- ]high|three[- ](?:block|level|storey|story|tier)|two[- ](?:block|level|storey|story|tier))\b/;
const ON_CUE = /\b(?:on top of|on|onto|atop|upon|over|on to|on it|on top)\b/;
const CLAUSE_END = new Set([',', 'and', 'with', 'then']);
/** Words that join two actions within a step. */
const JOINS = new Set([',', 'and', 'also', 'plus', 'additionally', 'while']);
/** Tower role words: bottom, middle, top. */
const ROLE_OF = new Map<string, 0 | 1 | 2>([
  ...'bottom base foundation lowest ground bottommost lower first'.split(' ').map((w) => [w, 0] as [string, 0]),
  ...'middle centre center second mid between'.split(' ').map((w) => [w, 1] as [string, 1]),
  ...'top highest uppermost topmost summit crown upper peak cap last'.split(' ').map((w) => [w, 2] as [string, 2]),
]);

/** Lower case, punctuation to spaces (a full stop, semicolon or line break kept as a step break). */
function normalise(goal: string): string {
  return goal
    .toLowerCase()
    .replace(/[\u2019']/g, "'")
    // Numbered steps ("1)", "2.", "step 3:") break steps like sentences.
    .replace(/(?:^|\s)(?:step\s*)?\d+\s*[).:]\s*|\bstep\s*\d+\b/g, ' | ')
    .replace(/\s*[.;!?\n]+\s*/g, ' | ')
    .replace(/[()":*]+/g, ' ')
    .replace(/(\w)-(\w)/g, '$1 $2')
    .replace(/\b(\w+) colou?red\b/g, (m, w: string) => (COLOUR_OF.has(w) ? w : m))
    .replace(/\bcolor/g, 'colour')
    // A possessive "the bowl's left" splits off its 's (so the noun is seen); "that's", "it's" stay.
    .replace(/\b(\w+)'s\b/g, (m, w: string) => (/^(?:that|it|what|there|here|who|let|he|she|where)$/.test(w) ? m : `${w} 's`))
    .split(' ')
    // Typos are fixed here, once: every step and word list is cut from this text.
    .map((w) => w.replace(/^[a-z]+(?=,*$)/, fixTypo))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A step's words, a comma its own word (a clause boundary): every index into a step uses this split. */
function wordsOf(step: string): string[] {
  return step.replace(/,/g, ' , ').split(/\s+/).filter((w) => w.length > 0);
}

const DONE = "(?:done|finished|complete|completed|over|sorted|in place)";
const STEP_BREAK = new RegExp(
  `\\s*(?:\\||,?\\s*\\b(?:and )?(?:then|after that|afterwards|afterward|after this|next(?! to)|later|subsequently|following that|once (?:that|this|it)(?:'s| is| has been)? ${DONE}|once (?:you've|you have|you are|you're) (?:done|finished)(?: that| this)?|once (?:you've|you have) (?:done|finished) (?:that|this)|when (?:that|this|it)(?:'s| is| has been)? ${DONE}|when (?:you're|you are) (?:done|finished)|after (?:you've|you have) (?:done|finished) (?:that|this)|after doing (?:that|this)|(?:and )?finally|lastly|last of all|to finish(?: up)?|as a last step|at the end)\\b,?)\\s*`,
);
/** Joins of two actions meant together, not in sequence ("A and B", "also B"): kept as " and ". */
const ALSO = /^(?:also|additionally|and also|and|plus|as well|in addition|besides|on top of that|moreover)\b,?\s*/;

/** The goal's steps, in order, each with how it joins the one before: numbering and "first" dropped. */
function splitSteps(text: string): { text: string; join: 'then' | 'and' }[] {
  const steps: { text: string; join: 'then' | 'and' }[] = [];
  for (const step of cutSteps(text)) {
    const prev = steps.at(-1);
    // "see the purple cube? put it in the blue bowl": a step naming one object, then one using it.
    if (prev && mentions(prev.text).length === 1 && !isSort(prev.text) && mentions(step.text).length === 1) {
      prev.text += ` , ${step.text}`;
      continue;
    }
    // "a tower: violet at the base, then amber, and lime on top": a bare list item continues the tower.
    if (prev && TOWER_CUE.test(prev.text) && mentions(step.text).every((m) => m.kind === undefined) && !/\b(?:put|place|move|stack|sort|drop|set)\b/.test(step.text)) prev.text += ` , ${step.text}`;
    else steps.push(step);
  }
  return steps;
}

function cutSteps(text: string): { text: string; join: 'then' | 'and' }[] {
  return text
    .split(STEP_BREAK)
    .map((s) => {
      let t = (s ?? '').replace(/^(?:\s*(?:step\s*)?(?:\d+|one|two|three|four|five|first|second|third|fourth|1st|2nd|3rd|4th)\b[),.:-]*\s*)+/, '');
      t = t.replace(/^(?:first(?:ly)?|to start|to begin(?: with)?|start by|begin by|begin with|start with)\b,?\s*/, '').trim();
      const also = ALSO.exec(t);
      return { text: also ? t.slice(also[0].length).trim() : t, join: also ? ('and' as const) : ('then' as const) };
    })
    .filter((s) => mentions(s.text).length > 0 || isSort(s.text));
}

function isSort(step: string): boolean {
  return SORT_CUE.test(wordsOf(step).join(' '));
}

/** Colour mentions in order, each with the object noun that follows it (within four words) or precedes it ("the dish that is red"). */
function mentions(step: string): Mention[] {
  const words = wordsOf(step);
  const out: Mention[] = [];
  for (let i = 0; i < words.length; i++) {
    const colour = COLOUR_OF.get(words[i]!);
    if (!colour) continue;
    // "forest green", "navy blue": shade words followed by a word of the same colour are one mention.
    if (COLOUR_OF.get(words[i + 1] ?? '') === colour) continue;
    let start = i;
    while (start > 0 && COLOUR_OF.get(words[start - 1]!) === colour) start--;
    let kind: Kind | undefined;
    for (let j = i + 1; j <= i + 4 && j < words.length && !kind; j++) {
      if (COLOUR_OF.has(words[j]!)) break;
      kind = KIND_OF.get(words[j]!);
    }
    // "the dish that's red", "the bowl which is fire-engine red": the noun came before, a relative clause between.
    if (!kind) {
      for (let j = start - 1, linked = false; j >= Math.max(0, start - 5) && !kind; j--) {
        const w = words[j]!;
        if (COLOUR_OF.has(w) || w === ',') break;
        linked ||= RELATIVE.has(w);
        if (linked) kind = KIND_OF.get(w);
      }
    }
    out.push({ colour, kind, at: i, start });
  }
  return out;
}

/** One step → its canonical sentences (a tower may be several stacks; a step "A and B" two sentences). */
function readStep(step: string): string[] | null {
  const ms = mentions(step);
  if (ms.length === 0) return isSort(step) ? ['sort the blocks into the bowls of matching colour'] : null;
  // A tower is named, or three blocks are set one on another (no bowl, no direction).
  const noBowl = ms.every((m) => m.kind !== 'bowl');
  if (noBowl && (ms.length === 3 || (ms.length === 2 && TOWER_CUE.test(wordsOf(step).join(' '))))) return readTower(step, ms);
  if (ms.length === 4) {
    // Two actions in one step ("put A in B and C next to D"): cut at the first joining word after the second mention.
    const words = wordsOf(step);
    let cut = ms[1]!.at + 1;
    while (cut < ms[2]!.start && !JOINS.has(words[cut]!)) cut++;
    const a = readStep(words.slice(0, cut).join(' '));
    const b = readStep(words.slice(cut).join(' '));
    return a && b ? [...a, ...b] : null;
  }
  if (ms.length !== 2) return null;
  const [m1, m2] = ms as [Mention, Mention];
  const blocks = ms.filter((m) => m.kind === 'block' || m.kind === undefined);
  const direction = directionOf(step, m1, m2);
  if (direction) {
    // The reference is the mention right after the direction phrase; the block that moves is the other.
    const ref = direction.refIndex === 0 ? m1 : m2;
    const mover = ref === m1 ? m2 : m1;
    if (mover.kind === 'bowl') return null;
    return [`move the ${mover.colour} block ${DIRECTION_TEXT[direction.dir]} the ${ref.colour} ${ref.kind ?? 'block'}`];
  }
  const bowl = ms.find((m) => m.kind === 'bowl');
  if (bowl && blocks.length === 1) return [`put the ${blocks[0]!.colour} block in the ${bowl.colour} bowl`];
  if (blocks.length === 2 && ON_CUE.test(step)) {
    const { mover, base } = stackRoles(step, m1, m2);
    return [`stack the ${mover.colour} block on the ${base.colour} block`];
  }
  return null;
}

const DIRECTION_TEXT: Record<Direction, string> = { left: 'to the left of', right: 'to the right of', above: 'above', below: 'below' };

/** The direction the step names, and which mention it refers to (the one after the phrase, else the other). */
function directionOf(step: string, m1: Mention, m2: Mention): { dir: Direction; refIndex: 0 | 1 } | null {
  const words = wordsOf(step);
  const joined = words.join(' ');
  for (const [re, dir] of DIRECTIONS) {
    const found = re.exec(joined);
    if (!found) continue;
    // "on top", "over" mean stacking, not a direction: only the directional words count here.
    const wordAt = joined.slice(0, found.index).split(' ').length - 1;
    if (dir === 'below' && /^(?:under|underneath|beneath)$/.test(found[0]) && words.some((w) => /^(?:tower|stack)$/.test(w))) return null;
    // "on its left" refers back to the mention before it; otherwise the reference is the first mention after the phrase.
    // "on its left" and "the bowl's left" refer back to the mention before them; a phrase before both
    // mentions refers to the first after it; one after both, to the nearer (the last).
    const back = words.slice(Math.max(0, wordAt - 3), wordAt).some((w) => w === 'its' || w === "'s");
    if (wordAt < m2.at && wordAt > m1.at) return { dir, refIndex: back ? 0 : 1 };
    if (wordAt < m1.at) return { dir, refIndex: 0 };
    return { dir, refIndex: 1 };
  }
  return null;
}

/** Who goes on whom: the mention right after "on/onto/atop/on top of" is the base; "… with A on top" puts A up. */
function stackRoles(step: string, m1: Mention, m2: Mention): { mover: Mention; base: Mention } {
  const words = wordsOf(step);
  const between = words.slice(m1.at + 1, m2.at).join(' ');
  const after = words.slice(m2.at + 1).join(' ');
  const before = words.slice(0, m1.at).join(' ');
  if (/\b(?:on top of|on|onto|atop|upon|on to)\b/.test(between) && !/\b(?:under|beneath|below|underneath)\b/.test(between)) return { mover: m1, base: m2 };
  if (/\b(?:under|beneath|below|underneath|support|supports|carry|carries|hold|holds|bear|bears|have|has)\b/.test(between)) return { mover: m2, base: m1 };
  if (/\b(?:on top of|onto|atop|upon|on)\b/.test(before) && !/\bon top\s*$/.test(before)) return { mover: m2, base: m1 };
  if (/\bon (?:top|it|that|this|them)\b/.test(after)) return { mover: m2, base: m1 };
  return { mover: m1, base: m2 };
}

/** A tower: roles named (bottom/middle/top), or an order ("A on B on C" = top first; "from the bottom up: A, B"). */
function readTower(step: string, ms: Mention[]): string[] | null {
  if (ms.length > 3) return null;
  const words = wordsOf(step);
  const joined = words.join(' ');
  // Each mention's role: the role word nearest to it within its clause (commas and "and" bound clauses;
  // a clause runs no further than the neighbouring mentions).
  const roles = ms.map((m, i) => {
    const lo = i === 0 ? 0 : ms[i - 1]!.at + 1;
    const hi = i + 1 < ms.length ? ms[i + 1]!.start : words.length;
    let from = m.start;
    while (from > lo && !CLAUSE_END.has(words[from - 1]!)) from--;
    let to = m.at + 1;
    while (to < hi && !CLAUSE_END.has(words[to]!)) to++;
    let best: { role: number; d: number } = { role: -1, d: Infinity };
    for (let j = from; j < to; j++) {
      const role = ROLE_OF.get(words[j]!);
      // "on top of" is a stacking phrase, not the top role; "first" and "last" name roles only next to the mention.
      if (role === undefined || (words[j] === 'top' && words[j + 1] === 'of')) continue;
      if ((words[j] === 'first' || words[j] === 'last') && Math.abs(j - m.at) > 3) continue;
      const d = Math.abs(j - m.at) + (j < m.at ? 0.5 : 0);
      if (d < best.d) best = { role, d };
    }
    return best.role;
  });
  const n = ms.length;
  const rank = (r: number) => (r === 2 ? n - 1 : r);
  let bottomUp: Mention[] | null = null;
  if (roles.every((r) => r >= 0 && (n === 3 || r !== 1)) && new Set(roles.map(rank)).size === n) {
    bottomUp = ms.map((m, i) => ({ m, r: rank(roles[i]!) })).sort((a, b) => a.r - b.r).map((x) => x.m);
  } else if (/\b(?:top (?:down|to bottom|first)|from (?:the )?top|downward|downwards|top downwards)\b/.test(joined)) bottomUp = [...ms].reverse();
  else if (/\b(?:bottom (?:up|to top|first)|from (?:the )?(?:bottom|base|ground)|upward|upwards|going up)\b/.test(joined)) bottomUp = ms;
  else if (ms.length === 3 && /\b(?:on top of|on|onto|atop|upon)\b/.test(words.slice(ms[0]!.at + 1, ms[1]!.start).join(' ')) && words.slice(ms[1]!.at + 1, ms[2]!.start).some((w) => JOINS.has(w))) {
    // Built in steps: "put A on B, and C on top of that": B, then A, then C.
    bottomUp = [ms[1]!, ms[0]!, ms[2]!];
  } else if (/\b(?:on top of|on|onto|atop|upon)\b/.test(words.slice(ms[0]!.at + 1, ms[1]!.at).join(' '))) bottomUp = [...ms].reverse();
  else if (roles[0] === 0 || roles.every((r) => r === -1)) bottomUp = ms;
  else return null;
  const [a, b, c] = bottomUp.map((m) => m.colour);
  return c ? [`build a tower with the ${a} block at the bottom, the ${b} block in the middle and the ${c} block on top`] : [`stack the ${b} block on the ${a} block`];
}

const KNOWN = new Set([
  ...COLOUR_OF.keys(),
  ...KIND_OF.keys(),
  ...ROLE_OF.keys(),
  ...'left right above below behind front north south east west tower stack sort matching matches colour inside into onto atop place then afterwards finally after next'.split(' '),
]);

/**
 * A slip of the keyboard corrected: a word of five letters or more that is a known word with two letters
 * swapped, one letter dropped, or one letter doubled or inserted after the first, when exactly one known
 * word is that close. Replaced letters and a letter added in front are left alone: they turn real words
 * into known ones ("lift" → left, "bright" → right).
 */
function fixTypo(word: string): string {
  if (word.length < 5 || KNOWN.has(word)) return word;
  let hit: string | undefined;
  for (const k of KNOWN) {
    if (k.length < 4 || Math.abs(k.length - word.length) > 1 || !slip(word, k)) continue;
    if (hit) return word;
    hit = k;
  }
  return hit ?? word;
}

/** `typed` is `known` with two neighbouring letters swapped, one dropped, or one added after the first. */
function slip(typed: string, known: string): boolean {
  if (typed.length === known.length) {
    const diff = [...typed].flatMap((ch, i) => (ch !== known[i] ? [i] : []));
    return diff.length === 2 && diff[1] === diff[0]! + 1 && typed[diff[0]!] === known[diff[1]!] && typed[diff[1]!] === known[diff[0]!];
  }
  if (typed.length + 1 === known.length) return [...known].some((_, i) => known.slice(0, i) + known.slice(i + 1) === typed);
  return [...typed].some((_, i) => i > 0 && typed.slice(0, i) + typed.slice(i + 1) === known);
}
