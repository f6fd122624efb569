import assert from 'node:assert/strict';
import { judgeTaskOutput } from '../../../sim/eval/judgeTaskOutput.ts';
import { renderLayout } from '../../../sim/render/renderLayout.ts';
import { perceiveLayout } from '../../../sim/perception/perceiveLayout.ts';
import { describeScene } from '../../../sim/tasks/describeScene.ts';
import { splitOf } from '../../../sim/tasks/generateScene.ts';
import { replayStory, type StoryReplay } from '../../../sim/tasks/replayStory.ts';
import { makeStoryDrill, makeTaskExample, type ExampleItem } from '../../../sim/tasks/taskExamples.ts';
import type { Layout } from '../../../sim/world/Layout.ts';

const KINDS = ['place', 'stack', 'move'] as const;

/** A story as the model's output reads back: its texts, and the layouts perceived in its rendered frames. */
function asGenerated(output: readonly ExampleItem[]): { texts: string[]; layouts: Layout[] } {
  return {
    texts: output.flatMap((o) => (o.type === 'text' ? [o.text] : [])),
    layouts: output.flatMap((o) => (o.type === 'image' ? [perceiveLayout(renderLayout(o.layout))] : [])),
  };
}

function replayed(texts: string[], layouts: Layout[], seed = 1): StoryReplay {
  const r = replayStory(texts, layouts, seed);
  assert.ok(typeof r !== 'string', `not replayed: ${r}`);
  return r;
}

function frames(r: StoryReplay): Layout[] {
  return r.output.flatMap((o) => (o.type === 'image' ? [o.layout] : []));
}

/** The judge's verdicts on a replay, its frames rendered as the model's images would be. */
function judged(r: StoryReplay) {
  const example = makeTaskExample('story', 'train', 0);
  const output = r.output.map((o) => (o.type === 'text' ? { type: 'text' as const, text: o.text } : { type: 'image' as const, grid: { rows: 8, cols: 8 }, codes: [], image: renderLayout(o.layout) }));
  return judgeTaskOutput('story', example, output);
}

describe('replayStory (a generated story with the simulator’s frames)', () => {
  it('gives back a right story unchanged', () => {
    const story = makeStoryDrill(3, KINDS).output;
    const { texts, layouts } = asGenerated(story);
    const r = replayed(texts, layouts);
    assert.deepEqual(r.output, story);
    assert.equal(r.replaced, 0);
    assert.equal(r.imagesNotTrue, 0);
  });

  it('draws the true state where the model drew a wrong one, and counts the wrong images', () => {
    const story = makeStoryDrill(5, KINDS).output;
    const { texts, layouts } = asGenerated(story);
    const wrong = layouts.map((l) => l.map((row) => [...row]));
    wrong[2] = wrong[1]!; // the second action's image repeats the first's
    const r = replayed(texts, wrong);
    assert.deepEqual(frames(r), layouts);
    assert.equal(r.imagesNotTrue, 1);
    assert.equal(judged(r).imagesAgreeing, layouts.length);
  });

  it('replaces a narration impossible in the true state by a legal one, the same for the same seed', () => {
    const story = makeStoryDrill(9, KINDS).output;
    const { texts, layouts } = asGenerated(story);
    const impossible = [...texts];
    impossible[1] = 'the robot put the orange block in the orange bowl.'; // no such objects in the drills' scenes
    assert.ok(!texts[0]!.includes('orange'));
    const r = replayed(impossible, layouts, 4);
    // later narrations may depend on the replaced action, and are replaced in turn when the new state rules them out
    assert.ok(r.replaced >= 1 && r.replaced < texts.length, `${r.replaced} replaced`);
    const narration = r.output[2]!;
    assert.ok(narration.type === 'text' && narration.text !== impossible[1] && narration.text.startsWith('the robot '));
    const verdict = judged(r);
    assert.equal(verdict.imagesAgreeing, verdict.images, JSON.stringify(verdict.details));
    assert.deepEqual(replayed(impossible, layouts, 4), r);
  });

  it('refuses outputs it cannot replay, and openings from the held-out split', () => {
    const { texts, layouts } = asGenerated(makeStoryDrill(11, KINDS).output);
    assert.equal(replayStory(texts, layouts.slice(1), 1), 'not text/image pairs');
    assert.equal(replayStory(texts.slice(0, 1), layouts.slice(0, 1), 1), 'not text/image pairs');
    assert.equal(replayStory(texts, [layouts[1]!, ...layouts.slice(1)], 1), 'opening image is not the described scene');
    const heldout = makeTaskExample('story', 'heldout', 0).output;
    const scene = heldout[1]!.type === 'image' ? heldout[1]!.layout : null;
    assert.ok(scene && splitOf(scene) === 'heldout');
    assert.equal(replayStory([describeScene(scene), ...texts.slice(1)], [scene, ...layouts.slice(1)], 1), 'held-out opening');
  });
});
