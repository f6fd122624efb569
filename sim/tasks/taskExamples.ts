import { narrateSubgoal, describeSubgoal } from '../skills/describeSubgoal.ts';
import { RELATIONS, type Action, type ObjectRef } from '../skills/Action.ts';
import { resolveAction } from '../skills/resolveAction.ts';
import { BLOCK_COLOURS, BOWL_COLOURS, type BlockColour } from '../world/colours.ts';
import { Prng } from '../world/Prng.ts';
import { blocksOn, bowlsOn, cloneLayout, moveTopBlock, normaliseCell, windowOf, type Layout, type Slot } from '../world/Layout.ts';
import { allSlots, placeObjects, richScene, splitOf, type Split } from './generateScene.ts';
import { describeScene } from './describeScene.ts';
import { makeEpisode, reachingOraclePlan, type SuiteName } from './suites.ts';

export const EXPORT_TASKS = ['vla', 't2i', 'x2i', 'story', 'howto', 'explore'] as const;
export type ExportTask = (typeof EXPORT_TASKS)[number];

/** The story task's one instruction: the model invents the scene and the actions. */
export const STORY_INSTRUCTION = 'tell a story of the robot tidying the table';

export type ExampleItem = { type: 'text'; text: string } | { type: 'image'; layout: Layout };

/** One training example with frames still as layouts (the exporter renders them). */
export interface TaskExample {
  suite: SuiteName | null;
  instruction: string;
  inputs: Layout[];
  output: ExampleItem[];
}

const VLA_SUITE_WEIGHTS: [SuiteName, number][] = [
  ['spatial', 0.2],
  ['object', 0.2],
  ['goal', 0.25],
  ['long', 0.35],
];
const MAX_ATTEMPTS = 5000;

/** The example for (task, split, seed); deterministic. */
export function makeTaskExample(task: ExportTask, split: Split, seed: number): TaskExample {
  if (task === 'vla' || task === 'howto') return goalExample(task, split, seed);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const rng = Prng.from('example', task, split, seed, attempt);
    const made = SCENE_TASKS[task](rng);
    if (made && splitOf(made.scene) === split) return made.example;
  }
  throw new RangeError(`no ${task}/${split} example for seed ${seed}`);
}

function goalExample(task: 'vla' | 'howto', split: Split, seed: number): TaskExample {
  const rng = Prng.from('suite', task, split, seed);
  const suite = task === 'howto' ? rng.pick(['goal', 'long'] as const) : weighted(rng, VLA_SUITE_WEIGHTS);
  const episode = makeEpisode(suite, split, seed);
  const steps = reachingOraclePlan(episode.layout, episode.predicates, episode.stages)!;
  const output = steps.flatMap((s, k): ExampleItem[] => [
    { type: 'text', text: task === 'vla' ? s.subgoal : `step ${k + 1}: ${s.subgoal}` },
    { type: 'image', layout: s.layout },
  ]);
  const instruction = task === 'vla' ? episode.goal : `how do I ${episode.goal}?`;
  return { suite, instruction, inputs: [episode.layout], output };
}

type SceneTask = (rng: Prng) => { scene: Layout; example: TaskExample } | null;

const SCENE_TASKS: Record<Exclude<ExportTask, 'vla' | 'howto'>, SceneTask> = {
  t2i: (rng) => {
    const scene = randomRichScene(rng);
    return { scene, example: { suite: null, instruction: describeScene(scene), inputs: [], output: [{ type: 'image', layout: scene }] } };
  },
  x2i: (rng) => {
    const scene = randomRichScene(rng);
    const edit = randomEdit(rng, scene);
    if (!edit) return null;
    return { scene, example: { suite: null, instruction: edit.text, inputs: [scene], output: [{ type: 'image', layout: edit.layout }] } };
  },
  story: (rng) => storyExample(rng, ACTION_KINDS),
  explore: (rng) => {
    const blocks = Array.from({ length: 20 + rng.int(12) }, () => rng.pick(BLOCK_COLOURS));
    const bowls = Array.from({ length: 6 + rng.int(6) }, () => rng.pick(BOWL_COLOURS));
    const scene = richScene(rng, { blocks, bowls, rows: EXPLORE_WORLD, cols: EXPLORE_WORLD, repeat: true });
    let origin: Slot = { r: 2 * rng.int(5), c: 2 * rng.int(5) };
    const first = windowOf(scene, origin, EXPLORE_VIEW, EXPLORE_VIEW);
    const output: ExampleItem[] = [];
    const steps = EXPLORE_STEPS.min + rng.int(EXPLORE_STEPS.max - EXPLORE_STEPS.min + 1);
    for (let k = 0; k < steps; k++) {
      const moves = CAMERA_MOVES.filter((m) => inWorld({ r: origin.r + m.dr, c: origin.c + m.dc }));
      const move = rng.pick(moves);
      origin = { r: origin.r + move.dr, c: origin.c + move.dc };
      output.push({ type: 'text', text: move.text }, { type: 'image', layout: windowOf(scene, origin, EXPLORE_VIEW, EXPLORE_VIEW) });
    }
    return { scene, example: { suite: null, instruction: EXPLORE_INSTRUCTION, inputs: [first], output } };
  },
};

/** explore walks an EXPLORE_VIEW-square view over an EXPLORE_WORLD-square table (training/nano/worlds.py reads these via shared_tables.json). */
export const EXPLORE_WORLD = 16;
export const EXPLORE_VIEW = 8;
export const EXPLORE_INSTRUCTION = 'explore the table';
/** Views in one explore answer: what emu-nano was trained on, so its sessions re-anchor past `max` (the manifest's `session.maxViews`). */
export const EXPLORE_STEPS = { min: 2, max: 5 };

/** explore's camera commands and how far each shifts the view (rows, columns). */
export const CAMERA_MOVES = [
  { text: 'look left', dr: 0, dc: -2 },
  { text: 'look right', dr: 0, dc: 2 },
  { text: 'look up', dr: -2, dc: 0 },
  { text: 'look down', dr: 2, dc: 0 },
];

function inWorld(o: Slot): boolean {
  return o.r >= 0 && o.c >= 0 && o.r <= EXPLORE_WORLD - EXPLORE_VIEW && o.c <= EXPLORE_WORLD - EXPLORE_VIEW;
}

function weighted<T>(rng: Prng, items: [T, number][]): T {
  let x = rng.next() * items.reduce((s, [, w]) => s + w, 0);
  for (const [item, w] of items) if ((x -= w) < 0) return item;
  return items.at(-1)![0];
}

function randomRichScene(rng: Prng): Layout {
  return richScene(rng, { blocks: rng.sample(BLOCK_COLOURS, 3 + rng.int(4)), bowls: rng.sample(BOWL_COLOURS, 1 + rng.int(3)) });
}

/**
 * A story on a fresh scene: its description and image, then 2-4 narrated actions, each kind drawn from `kinds`.
 * `namedSlots` ends each narration with the slot its block lands on (", to row 3 column 4"); the export does not
 * (a 99-minute trial of it, phase 14 in docs/models/emu-nano.md, was not shipped).
 */
function storyExample(rng: Prng, kinds: readonly Action['kind'][], namedSlots = false): { scene: Layout; example: TaskExample } | null {
  const scene = placeObjects(rng, { blocks: rng.sample(BLOCK_COLOURS, 3 + rng.int(3)), bowls: rng.sample(BOWL_COLOURS, 2 + rng.int(2)) });
  const output: ExampleItem[] = [
    { type: 'text', text: describeScene(scene) },
    { type: 'image', layout: scene },
  ];
  let state = scene;
  const steps = 2 + rng.int(3);
  for (let k = 0; k < steps; k++) {
    const step = randomLegalAction(rng, state, kinds);
    if (!step) return null;
    state = step.layout;
    output.push({ type: 'text', text: narrateSubgoal(step.action, namedSlots ? step.to : undefined) }, { type: 'image', layout: state });
  }
  return { scene, example: { suite: null, instruction: STORY_INSTRUCTION, inputs: [], output } };
}

/**
 * A training-split story whose actions are drawn from `kinds` (repeat a kind to weight it), for drills:
 * e.g. mostly moves next to an object, the action the story task gets wrong most. Deterministic per seed,
 * and never on a held-out scene.
 */
export function makeStoryDrill(seed: number, kinds: readonly Action['kind'][], namedSlots = false): TaskExample {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const made = storyExample(Prng.from('drill', 'story', seed, attempt), kinds, namedSlots);
    if (made && splitOf(made.scene) === 'train') return made.example;
  }
  throw new RangeError(`no story drill for seed ${seed}`);
}

const ACTION_KINDS = ['place', 'stack', 'move'] as const;

/** A random legal, non-trivial action (its kind drawn from `kinds`), the slot its block lands on and the layout after it. */
export function randomLegalAction(rng: Prng, layout: Layout, kinds: readonly Action['kind'][] = ACTION_KINDS): { action: Action; to: Slot; layout: Layout } | null {
  const blocks = blocksOn(layout);
  const bowls = bowlsOn(layout);
  for (let tries = 0; tries < 50; tries++) {
    const block = rng.pick(blocks);
    const kind = rng.pick(kinds);
    let action: Action;
    if (kind === 'place' && bowls.length) action = { kind, block, bowl: rng.pick(bowls) };
    else if (kind === 'stack' && blocks.length > 1) action = { kind, block, onto: rng.pick(blocks.filter((b) => b !== block)) };
    else {
      const refs: ObjectRef[] = [...bowls.map((colour) => ({ type: 'bowl', colour }) as ObjectRef), ...blocks.filter((b) => b !== block).map((colour) => ({ type: 'block', colour }) as ObjectRef)];
      if (!refs.length) continue;
      action = { kind: 'move', block, relation: rng.pick(RELATIONS), ref: rng.pick(refs) };
    }
    const plan = resolveAction(layout, action);
    if (plan.ok && !plan.noop) return { action, to: plan.to, layout: moveTopBlock(layout, plan.from, plan.to) };
  }
  return null;
}

/** A random x2i edit (add / remove / move / recolour) and the edited layout. */
function randomEdit(rng: Prng, layout: Layout): { text: string; layout: Layout } | null {
  const slots = allSlots(layout.length, layout[0]!.length);
  const empty = slots.filter((s) => !layout[s.r]![s.c]);
  const tops = slots.filter((s) => (layout[s.r]![s.c]?.stack.length ?? 0) > 0);
  const present = blocksOn(layout);
  const absent = BLOCK_COLOURS.filter((c) => !present.includes(c));
  const next = cloneLayout(layout);
  const kind = rng.pick(['add', 'add-bowl', 'remove', 'move', 'recolour'] as const);
  if (kind === 'add' && absent.length && empty.length) {
    const colour = rng.pick(absent);
    const s = rng.pick(empty);
    next[s.r]![s.c] = { bowl: null, stack: [colour] };
    return { text: `add a ${colour} block at row ${s.r} column ${s.c}`, layout: next };
  }
  if (kind === 'add-bowl' && empty.length) {
    const missing = BOWL_COLOURS.filter((c) => !bowlsOn(layout).includes(c));
    if (!missing.length) return null;
    const colour = rng.pick(missing);
    const s = rng.pick(empty);
    next[s.r]![s.c] = { bowl: colour, stack: [] };
    return { text: `add a ${colour} bowl at row ${s.r} column ${s.c}`, layout: next };
  }
  if (!tops.length) return null;
  const from = rng.pick(tops);
  const colour = next[from.r]![from.c]!.stack.at(-1)!;
  if (kind === 'remove') {
    next[from.r]![from.c]!.stack.pop();
    next[from.r]![from.c] = normaliseCell(next[from.r]![from.c]!);
    return { text: `remove the ${colour} block`, layout: next };
  }
  if (kind === 'move') {
    const targets = slots.filter((s) => (layout[s.r]![s.c]?.stack.length ?? 0) === 0);
    const to = rng.pick(targets);
    return { text: `move the ${colour} block to row ${to.r} column ${to.c}`, layout: moveTopBlock(layout, from, to) };
  }
  if (!absent.length) return null;
  const recolour: BlockColour = rng.pick(absent);
  const stack = next[from.r]![from.c]!.stack;
  stack[stack.length - 1] = recolour;
  return { text: `recolour the ${colour} block ${recolour}`, layout: next };
}
