import { describeSubgoal } from '../skills/describeSubgoal.ts';
import { RELATION_OFFSET, RELATIONS, type Action, type ObjectRef } from '../skills/Action.ts';
import { BLOCK_COLOURS, BOWL_COLOURS, type BlockColour, type BowlColour } from '../world/colours.ts';
import { Prng } from '../world/Prng.ts';
import { emptyLayout, inBounds, type Cell, type Layout, type Slot } from '../world/Layout.ts';
import { allSlots, HELDOUT_PAIRS, isHeldoutPair, placeObjects, splitOf, type Split } from './generateScene.ts';
import { paraphraseGoal } from './paraphrase.ts';
import { paraphraseBlind } from './paraphraseBlind.ts';
import { paraphraseDev } from './paraphraseDev.ts';
import { oraclePlan, type OracleStep } from './oraclePlan.ts';
import { parseGoal, SORT_GOAL, towerGoal } from './parseGoal.ts';
import { allHold, type Predicate } from './predicates.ts';
import { StageTracker, stagedOraclePlan } from './stages.ts';

/** The core suites (LIBERO-style): spatial relations, object identity, goal states, long-horizon chains. */
export const CORE_SUITES = ['spatial', 'object', 'goal', 'long'] as const;
/**
 * What a robot meets that the core suites do not: the scene changed under the plan (`perturb`), a real
 * camera (`camera`), wording the training data never used (`paraphrase`; `paraphrase-dev` and
 * `paraphrase-blind` from families written without sight of the loop's canonicaliser), chains of 6–8 subgoals judged part by part (`long8`)
 * and clutter near the targets (`distractor`). See sim/GRAMMAR.md.
 */
export const ROBUSTNESS_SUITES = ['perturb', 'camera', 'paraphrase', 'paraphrase-dev', 'paraphrase-blind', 'long8', 'distractor'] as const;
export const SUITES = [...CORE_SUITES, ...ROBUSTNESS_SUITES] as const;
export type SuiteName = (typeof SUITES)[number];

/** A change to the scene while a plan executes (`perturb`), after the `afterSubgoal`-th executed subgoal (0-based). */
export interface Disturbance {
  afterSubgoal: number;
  /**
   * `move`: a block the goal names is moved to a free slot; `remove`: a block it does not name is taken
   * away; `topple`: the top block of a stack (else a goal block) falls to a free neighbouring slot;
   * `silent_fail`: the controller reports the subgoal done without doing it.
   */
  kind: 'move' | 'remove' | 'topple' | 'silent_fail';
}
export const DISTURBANCE_KINDS = ['move', 'remove', 'topple', 'silent_fail'] as const;

/** The `camera` suite's sensor: what the planner sees instead of the clean render (`sim/render/camera.ts`). */
export interface CameraModel {
  /** Output frame (the table letterboxed into it). @unit px */
  width: number;
  height: number;
  jpegQuality: number;
  /** Gaussian sensor noise σ. @unit 8-bit levels */
  noise: number;
  /** Gain on all channels. */
  brightness: number;
  /** Per-channel gains (white balance). */
  whiteBalance: [number, number, number];
  /** Shift of the table inside the frame. @unit px */
  offset: [number, number];
}

/** One evaluation episode: a start layout and a goal whose predicates decide success. */
export interface Episode {
  id: string;
  suite: SuiteName;
  split: Split;
  seed: number;
  /** The task family within the suite (e.g. `sort`, `tower`, `place`). */
  family: string;
  /** What the planner is told. */
  goal: string;
  /** The goal in the canonical grammar, when `goal` is worded otherwise (`paraphrase`). */
  canonicalGoal?: string;
  layout: Layout;
  /** Every predicate of the goal, in order (for a staged goal, its parts' concatenated). */
  predicates: Predicate[];
  /**
   * The goal's parts judged in order along the episode (`StageTracker`: each part held at some moment,
   * no earlier than the one before), where a later part undoes an earlier one (`long8`). Absent: the
   * predicates are judged on the final state.
   */
  stages?: Predicate[][];
  disturbances?: Disturbance[];
  camera?: CameraModel;
}

interface Draft {
  family: string;
  goal: string;
  layout: Layout;
  /** A (block, bowl) pair the goal puts together, for the held-out pairing rule. */
  pairs: [BlockColour, BowlColour][];
  /** What the planner is told instead of `goal` (the judge still parses `goal`). */
  shownGoal?: string;
  /** The goal's `, then` parts, judged in order along the episode rather than on the final state. */
  stages?: string[];
  disturbances?: Disturbance[];
  camera?: CameraModel;
}

const MAX_ATTEMPTS = 5000;

/**
 * The episode for (suite, split, seed): drawn from a PRNG seeded by those, redrawn until its layout
 * hashes into `split`, its colour pairs respect the split and the oracle's plan reaches the goal.
 */
export function makeEpisode(suite: SuiteName, split: Split, seed: number): Episode {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const rng = Prng.from('episode', suite, split, seed, attempt);
    const draft = DRAFTERS[suite](rng, split, seed);
    if (!draft || splitOf(draft.layout) !== split) continue;
    if (split === 'train' && draft.pairs.some(([b, w]) => isHeldoutPair(b, w))) continue;
    const stages = draft.stages?.map((part) => parseGoal(part, draft.layout));
    if (stages?.some((s) => !s || s.length === 0)) continue;
    const predicates = stages ? (stages as Predicate[][]).flat() : parseGoal(draft.goal, draft.layout);
    if (!predicates || predicates.length === 0) continue;
    const plan = reachingOraclePlan(draft.layout, predicates, stages as Predicate[][] | undefined);
    if (!plan) continue;
    const episode: Episode = { id: `${suite}-${split}-${seed}`, suite, split, seed, family: draft.family, goal: draft.shownGoal ?? draft.goal, layout: draft.layout, predicates };
    if (stages) episode.stages = stages as Predicate[][];
    if (draft.shownGoal) episode.canonicalGoal = draft.goal;
    // A disturbance comes before the last subgoal, so one is left to notice it by.
    if (draft.disturbances) episode.disturbances = draft.disturbances.map((d) => ({ ...d, afterSubgoal: Math.min(d.afterSubgoal, plan.length - 2) }));
    if (draft.camera) episode.camera = draft.camera;
    return episode;
  }
  throw new RangeError(`no valid ${suite}/${split} episode for seed ${seed} after ${MAX_ATTEMPTS} draws`);
}

const LONG8_FAMILIES = ['sort+move+tower3', 'sort+move+tower3+unsort', 'sort+move+tower2+move+unsort+resort'] as const;

/**
 * The oracle's plan for an episode's goal, or null where it does not reach it. A staged goal needs one
 * step per predicate (every part counts) and each part held in order.
 */
export function reachingOraclePlan(layout: Layout, predicates: readonly Predicate[], stages?: readonly (readonly Predicate[])[]): OracleStep[] | null {
  if (!stages) {
    const plan = oraclePlan(layout, predicates);
    return plan.length > 0 && allHold(plan.at(-1)!.layout, predicates) ? plan : null;
  }
  const plan = stagedOraclePlan(layout, stages);
  if (plan.length !== predicates.length) return null;
  const tracker = new StageTracker(stages);
  tracker.observe(layout);
  for (const step of plan) tracker.observe(step.layout);
  return tracker.done ? plan : null;
}

const DRAFTERS: Record<SuiteName, (rng: Prng, split: Split, seed: number) => Draft | null> = {
  perturb: (rng, split, seed) => {
    const base = rng.next() < 0.5 ? DRAFTERS.goal(rng, split, seed) : DRAFTERS.long(rng, split, seed);
    if (!base) return null;
    // After one of the first subgoals, so at least one is left to notice it by (clipped to the plan in makeEpisode).
    const disturbances: Disturbance[] = [{ afterSubgoal: rng.int(2), kind: rng.pick(DISTURBANCE_KINDS) }];
    return { ...base, family: `${base.family}/${disturbances[0]!.kind}`, disturbances };
  },
  camera: (rng, split, seed) => {
    const core = rng.pick(CORE_SUITES);
    const base = DRAFTERS[core](rng, split, seed);
    if (!base) return null;
    const gain = () => 0.9 + 0.2 * rng.next();
    const camera: CameraModel = {
      width: 640,
      height: 480,
      jpegQuality: 50 + rng.int(41),
      noise: 2 + 6 * rng.next(),
      brightness: 0.8 + 0.4 * rng.next(),
      whiteBalance: [gain(), gain(), gain()],
      offset: [rng.int(17) - 8, rng.int(17) - 8],
    };
    return { ...base, family: `${core}/${base.family}`, camera };
  },
  paraphrase: (rng, split, seed) => {
    const core = rng.pick(CORE_SUITES);
    const base = DRAFTERS[core](rng, split, seed);
    if (!base) return null;
    return { ...base, family: `${core}/${base.family}`, shownGoal: paraphraseGoal(base.goal, rng) };
  },
  'paraphrase-dev': (rng, split, seed) => {
    // The same core episodes worded by a family written without sight of the loop's canonicaliser.
    const core = rng.pick(CORE_SUITES);
    const base = DRAFTERS[core](rng, split, seed);
    if (!base) return null;
    return { ...base, family: `${core}/${base.family}`, shownGoal: paraphraseDev(base.goal, rng) };
  },
  'paraphrase-blind': (rng, split, seed) => {
    // Worded by a family written after the loop's goal reader was frozen, by an author who saw neither it nor the canonicaliser.
    const core = rng.pick(CORE_SUITES);
    const base = DRAFTERS[core](rng, split, seed);
    if (!base) return null;
    return { ...base, family: `${core}/${base.family}`, shownGoal: paraphraseBlind(base.goal, rng) };
  },
  long8: (rng, _split, seed) => {
    // Sort the three bowl colours, move a block next to a bowl, build on it, then take a sorted block out
    // again (and, in the 8-step family, put it back): 6 to 8 subgoals. A later part undoes an earlier
    // one, so the parts are judged in order along the episode (`stages`), as CALVIN judges its chains.
    // The family by seed, not by draw: the longer chains fit fewer layouts, and redraws must not thin them out.
    const family = LONG8_FAMILIES[seed % LONG8_FAMILIES.length]!;
    const layout = placeObjects(rng, { blocks: rng.shuffle([...BLOCK_COLOURS]), bowls: rng.shuffle([...BOWL_COLOURS]) });
    const [a, b, c] = rng.shuffle(['yellow', 'purple', 'orange'] as const);
    const [x, y] = rng.shuffle(['red', 'green', 'blue'] as const);
    const besideBowl = (block: BlockColour): Action => ({ kind: 'move', block, relation: rng.pick(RELATIONS), ref: { type: 'bowl', colour: rng.pick(BOWL_COLOURS) } });
    const besideBlock = (block: BlockColour, ref: BlockColour): Action => ({ kind: 'move', block, relation: rng.pick(RELATIONS), ref: { type: 'block', colour: ref } });
    const parts =
      family === 'sort+move+tower3'
        ? [SORT_GOAL, describeSubgoal(besideBowl(a!)), towerGoal([a!, b!, c!])]
        : family === 'sort+move+tower3+unsort'
          ? [SORT_GOAL, describeSubgoal(besideBowl(a!)), towerGoal([a!, b!, c!]), describeSubgoal(besideBlock(x!, y!))]
          : [SORT_GOAL, describeSubgoal(besideBowl(a!)), towerGoal([a!, b!]), describeSubgoal(besideBlock(c!, y!)), describeSubgoal(besideBlock(x!, b!)), describeSubgoal({ kind: 'place', block: x!, bowl: x! })];
    return { family, goal: parts.join(', then '), layout, pairs: [], stages: parts };
  },
  distractor: (rng, split) => {
    const [block, bowl] = choosePair(rng, split);
    const twoParts = rng.next() < 0.5;
    const others = BLOCK_COLOURS.filter((c) => c !== block);
    const clutter = rng.sample(others, 3 + rng.int(3));
    // A bowl of the target block's own colour, where there is one, plus the rest: clutter the goal never names.
    const bowls = rng.shuffle([...new Set([bowl, ...BOWL_COLOURS])]);
    const layout = clutteredScene(rng, block, bowl, clutter, bowls);
    if (!layout) return null;
    let goal = describeSubgoal({ kind: 'place', block, bowl });
    if (twoParts) goal += ` and ${describeSubgoal(randomStack(rng, clutter))}`;
    return { family: twoParts ? 'place+stack' : 'place', goal, layout, pairs: [[block, bowl]] };
  },
  spatial: (rng) => {
    const { layout, blocks, bowls } = basicScene(rng, 3, 5);
    const action = randomMove(rng, blocks, bowls);
    return { family: 'move', goal: describeSubgoal(action), layout, pairs: [] };
  },
  object: (rng, split) => {
    const [block, bowl] = choosePair(rng, split);
    const { layout } = basicScene(rng, 3, 5, [block], [bowl]);
    return { family: 'place', goal: describeSubgoal({ kind: 'place', block, bowl }), layout, pairs: [[block, bowl]] };
  },
  goal: (rng, split) => {
    const [block, bowl] = choosePair(rng, split);
    const { layout, blocks, bowls } = basicScene(rng, 4, 5, [block], [bowl]);
    const others = blocks.filter((b) => b !== block);
    const second = rng.next() < 0.5 ? randomStack(rng, others) : randomMove(rng, others, bowls);
    const goal = `${describeSubgoal({ kind: 'place', block, bowl })} and ${describeSubgoal(second)}`;
    return { family: `place+${second.kind}`, goal, layout, pairs: [[block, bowl]] };
  },
  long: (rng) => {
    const family = rng.pick(['sort', 'sort', 'tower', 'sort+tower', 'sort+tower']);
    const sortCount = 2 + rng.int(2);
    const matching = family === 'tower' ? [] : rng.sample(BOWL_COLOURS, sortCount);
    const rest = BLOCK_COLOURS.filter((c) => !matching.includes(c as BowlColour));
    const towerSize = family === 'sort' ? 0 : family === 'tower' ? 3 : Math.min(3, 5 - sortCount + 1);
    const tower = rng.sample(family === 'tower' ? BLOCK_COLOURS : rest.filter((c) => !(BOWL_COLOURS as readonly string[]).includes(c)), towerSize);
    const extraBowls = rng.sample(BOWL_COLOURS.filter((c) => !matching.includes(c)), rng.int(2));
    const bowls = [...matching, ...extraBowls];
    const distractors = rng.sample(rest.filter((c) => !tower.includes(c) && !bowls.includes(c as BowlColour)), rng.int(2));
    const blocks = rng.shuffle([...matching, ...tower, ...distractors]);
    const layout = placeObjects(rng, { blocks, bowls: rng.shuffle(bowls) });
    const goals = [...(matching.length ? [SORT_GOAL] : []), ...(tower.length ? [towerGoal(tower)] : [])];
    return { family, goal: goals.join(', then '), layout, pairs: [] };
  },
};

/**
 * The target block and bowl with clutter packed around them: two clutter blocks next to the target
 * block, one next to the bowl, the same-colour bowl (if any) next to the block, the rest anywhere.
 */
function clutteredScene(rng: Prng, block: BlockColour, bowl: BowlColour, clutter: readonly BlockColour[], bowls: readonly BowlColour[]): Layout | null {
  const layout = emptyLayout();
  const free = (s: Slot) => inBounds(layout, s) && !layout[s.r]![s.c];
  const near = (s: Slot) => rng.shuffle(RELATIONS.map((rel) => ({ r: s.r + RELATION_OFFSET[rel].dr, c: s.c + RELATION_OFFSET[rel].dc }))).find(free);
  const put = (s: Slot | undefined, cell: Cell) => (s ? ((layout[s.r]![s.c] = cell), true) : false);
  const blockAt = { r: 1 + rng.int(6), c: 1 + rng.int(6) };
  put(blockAt, { bowl: null, stack: [block] });
  const anywhere = () => rng.shuffle(allSlots(8, 8)).find(free);
  const bowlAt = anywhere()!;
  put(bowlAt, { bowl, stack: [] });
  for (const other of bowls.filter((b) => b !== bowl)) if (!put(other === block ? near(blockAt) : anywhere(), { bowl: other, stack: [] })) return null;
  for (const [i, colour] of clutter.entries()) if (!put(i < 2 ? near(blockAt) : i === 2 ? near(bowlAt) : anywhere(), { bowl: null, stack: [colour] })) return null;
  return layout;
}

function basicScene(rng: Prng, minBlocks: number, maxBlocks: number, mustBlocks: BlockColour[] = [], mustBowls: BowlColour[] = []) {
  const n = minBlocks + rng.int(maxBlocks - minBlocks + 1);
  const blocks = [...mustBlocks, ...rng.sample(BLOCK_COLOURS.filter((c) => !mustBlocks.includes(c)), n - mustBlocks.length)];
  const m = 2 + rng.int(2);
  const bowls = [...mustBowls, ...rng.sample(BOWL_COLOURS.filter((c) => !mustBowls.includes(c)), m - mustBowls.length)];
  return { layout: placeObjects(rng, { blocks: rng.shuffle(blocks), bowls: rng.shuffle(bowls) }), blocks, bowls };
}

/** Held-out draws use a held-out pair half the time; train draws never do (checked by the caller). */
function choosePair(rng: Prng, split: Split): [BlockColour, BowlColour] {
  if (split === 'heldout' && rng.next() < 0.5) {
    const [b, w] = rng.pick(HELDOUT_PAIRS);
    return [b, w];
  }
  return [rng.pick(BLOCK_COLOURS), rng.pick(BOWL_COLOURS)];
}

function randomMove(rng: Prng, blocks: readonly BlockColour[], bowls: readonly BowlColour[]): Action {
  const block = rng.pick(blocks);
  const refs: ObjectRef[] = [
    ...bowls.map((colour) => ({ type: 'bowl', colour }) as ObjectRef),
    ...blocks.filter((c) => c !== block).map((colour) => ({ type: 'block', colour }) as ObjectRef),
  ];
  return { kind: 'move', block, relation: rng.pick(RELATIONS), ref: rng.pick(refs) };
}

function randomStack(rng: Prng, blocks: readonly BlockColour[]): Action {
  const [block, onto] = rng.sample(blocks, 2);
  return { kind: 'stack', block: block!, onto: onto! };
}
