import assert from 'node:assert/strict';
import type { OutputItem } from '../../../sdk/generation/GenerationEvent.ts';
import { judgeTaskOutput } from '../../../sim/eval/judgeTaskOutput.ts';
import { renderLayout } from '../../../sim/render/renderLayout.ts';
import { splitOf } from '../../../sim/tasks/generateScene.ts';
import { makeStoryDrill, makeTaskExample, type TaskExample } from '../../../sim/tasks/taskExamples.ts';

const MOSTLY_MOVES = ['move', 'move', 'move', 'move', 'move', 'move', 'place', 'stack'] as const;

function asOutput(example: TaskExample): OutputItem[] {
  return example.output.map((o) => (o.type === 'text' ? { type: 'text', text: o.text } : { type: 'image', grid: { rows: 8, cols: 8 }, codes: [], image: renderLayout(o.layout) }));
}

function narrations(example: TaskExample): string[] {
  return example.output.slice(2).flatMap((o) => (o.type === 'text' ? [o.text] : []));
}

function narratedVerbs(example: TaskExample): string[] {
  return example.output.slice(2).flatMap((o) => (o.type === 'text' ? [/^the robot (\w+)/.exec(o.text)?.[1] ?? '?'] : []));
}

describe('makeStoryDrill (stories for training, actions drawn from chosen kinds)', () => {
  it('is deterministic per seed', () => {
    assert.deepEqual(makeStoryDrill(7, MOSTLY_MOVES), makeStoryDrill(7, MOSTLY_MOVES));
    assert.notDeepEqual(makeStoryDrill(7, MOSTLY_MOVES), makeStoryDrill(8, MOSTLY_MOVES));
  });

  it('opens on training-split scenes only, so held-out stories stay held out', () => {
    for (let seed = 0; seed < 40; seed++) {
      const opening = makeStoryDrill(seed, MOSTLY_MOVES).output[1]!;
      assert.equal(opening.type === 'image' && splitOf(opening.layout), 'train');
    }
  });

  it('draws only the kinds it is given, and their weights show in the counts', () => {
    const verbs = Array.from({ length: 60 }, (_, seed) => narratedVerbs(makeStoryDrill(seed, MOSTLY_MOVES))).flat();
    const moved = verbs.filter((v) => v === 'moved').length;
    assert.ok(moved / verbs.length > 0.55, `${moved} of ${verbs.length} actions are moves`);
    const onlyStacks = Array.from({ length: 20 }, (_, seed) => narratedVerbs(makeStoryDrill(seed, ['stack']))).flat();
    assert.deepEqual([...new Set(onlyStacks)], ['stacked']);
  });

  it('tells stories the story judge accepts in full, as the exported stories are', () => {
    for (let seed = 0; seed < 30; seed++) {
      const drill = makeStoryDrill(seed, MOSTLY_MOVES);
      const j = judgeTaskOutput('story', drill, asOutput(drill));
      assert.ok(j.wellFormed);
      assert.equal(j.imagesAgreeing, j.images, `seed ${seed}: ${JSON.stringify(j.details)}`);
    }
  });

  it('leaves the exported story task as it was: train seed 0 narrates what the shipped model trained on', () => {
    assert.deepEqual(narrations(makeTaskExample('story', 'train', 0)), [
      'the robot moved the red block above the blue block.',
      'the robot stacked the green block on the blue block.',
      'the robot moved the red block to the left of the green block.',
      'the robot stacked the green block on the purple block.',
    ]);
  });

  it('with named slots, ends each narration with where its block lands, on the same frames', () => {
    const plain = makeStoryDrill(3, MOSTLY_MOVES);
    const named = makeStoryDrill(3, MOSTLY_MOVES, true);
    assert.deepEqual(named.output.filter((o) => o.type === 'image'), plain.output.filter((o) => o.type === 'image'));
    narrations(named).forEach((text, k) => {
      assert.match(text, /, to row \d column \d\.$/);
      assert.equal(text.replace(/, to row \d column \d/, ''), narrations(plain)[k]);
    });
    const j = judgeTaskOutput('story', named, asOutput(named));
    assert.equal(j.imagesAgreeing, j.images, JSON.stringify(j.details));
  });
});
