import { describeSubgoal } from '../skills/describeSubgoal.ts';
import { RELATIONS, type Action, type ObjectRef } from '../skills/Action.ts';
import { BLOCK_COLOURS, BOWL_COLOURS, type BlockColour, type BowlColour } from '../world/colours.ts';
import { Prng } from '../world/Prng.ts';
import type { Layout } from '../world/Layout.ts';
import { HELDOUT_PAIRS, isHeldoutPair, placeObjects, splitOf, type Split } from './generateScene.ts';
import { oraclePlan } from './oraclePlan.ts';
import { parseGoal, SORT_GOAL, towerGoal } from './parseGoal.ts';
import { allHold, type Predicate } from './predicates.ts';

/** The evaluation suites (LIBERO-style): spatial relations, object identity, goal states, long-horizon chains. */
export const SUITES = ['spatial', 'object', 'goal', 'long'] as const;
export type SuiteName = (typeof SUITES)[number];

/** One evaluation episode: a start layout and a goal whose predicates decide success. */
export interface Episode {
  id: string;
  suite: SuiteName;
  split: Split;
  seed: number;
  /** The task family within the suite (e.g. `sort`, `tower`, `place`). */
  family: string;
  goal: string;
  layout: Layout;
  predicates: Predicate[];
}

interface Draft {
  family: string;
  goal: string;
  layout: Layout;
  /** A (block, bowl) pair the goal puts together, for the held-out pairing rule. */
  pairs: [BlockColour, BowlColour][];
}

const MAX_ATTEMPTS = 5000;

/**
 * The episode for (suite, split, seed): drawn from a PRNG seeded by those, redrawn until its layout
 * hashes into `split`, its colour pairs respect the split and the oracle's plan reaches the goal.
 */
export function makeEpisode(suite: SuiteName, split: Split, seed: number): Episode {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const rng = Prng.from('episode', suite, split, seed, attempt);
    const draft = DRAFTERS[suite](rng, split);
    if (!draft || splitOf(draft.layout) !== split) continue;
    if (split === 'train' && draft.pairs.some(([b, w]) => isHeldoutPair(b, w))) continue;
    const predicates = parseGoal(draft.goal, draft.layout);
    if (!predicates || predicates.length === 0) continue;
    const plan = oraclePlan(draft.layout, predicates);
    if (plan.length === 0 || !allHold(plan.at(-1)!.layout, predicates)) continue;
    return { id: `${suite}-${split}-${seed}`, suite, split, seed, family: draft.family, goal: draft.goal, layout: draft.layout, predicates };
  }
  throw new RangeError(`no valid ${suite}/${split} episode for seed ${seed} after ${MAX_ATTEMPTS} draws`);
}

const DRAFTERS: Record<SuiteName, (rng: Prng, split: Split) => Draft | null> = {
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
