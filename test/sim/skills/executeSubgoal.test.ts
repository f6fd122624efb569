import assert from 'node:assert/strict';
import { describeSubgoal } from '../../../sim/skills/describeSubgoal.ts';
import { executeSubgoal } from '../../../sim/skills/executeSubgoal.ts';
import { parseSubgoal } from '../../../sim/skills/parseSubgoal.ts';
import { perceiveLayout } from '../../../sim/perception/perceiveLayout.ts';
import { SimWorld } from '../../../sim/world/SimWorld.ts';
import { layoutKey } from '../../../sim/world/Layout.ts';
import { basicLayout } from '../testScenes.ts';

const PLACE = [
  'put the red block in the blue bowl',
  'place the red block into the blue bowl',
  'Please drop the red block inside the blue bowl.',
  'pick up the red block and put it in the blue bowl',
];
const STACK = [
  'stack the green block on the yellow block',
  'put the green block on top of the yellow block',
  'place the green block onto the yellow block',
  'pick up the green block and stack it on the yellow block',
];
const MOVE: [string, { r: number; c: number }][] = [
  ['move the red block to the left of the blue bowl', { r: 2, c: 4 }],
  ['put the red block right of the blue bowl', { r: 2, c: 6 }],
  ['move the red block above the blue bowl', { r: 1, c: 5 }],
  ['place the red block below the blue bowl', { r: 3, c: 5 }],
  ['move the red block to the right of the yellow block', { r: 4, c: 5 }],
];

for (const physics of [false, true]) {
  describe(`executeSubgoal (physics ${physics ? 'on' : 'off'})`, () => {
    const world = () => SimWorld.create(basicLayout(), { physics });

    for (const text of PLACE) {
      it(`place: "${text}"`, async () => {
        const w = await world();
        const r = executeSubgoal(w, text);
        assert.ok(r.ok, JSON.stringify(r.ok ? '' : r.message));
        assert.deepEqual(r.layout[2]![5], { bowl: 'blue', stack: ['red'] });
        assert.equal(layoutKey(perceiveLayout(r.frame)), layoutKey(r.layout));
        w.dispose();
      });
    }

    for (const text of STACK) {
      it(`stack: "${text}"`, async () => {
        const w = await world();
        const r = executeSubgoal(w, text);
        assert.ok(r.ok);
        assert.deepEqual(r.layout[4]![4]!.stack, ['blue', 'yellow', 'green']);
        w.dispose();
      });
    }

    for (const [text, at] of MOVE) {
      it(`move: "${text}"`, async () => {
        const w = await world();
        const r = executeSubgoal(w, text);
        assert.ok(r.ok);
        assert.deepEqual(r.layout[at.r]![at.c], { bowl: null, stack: ['red'] });
        w.dispose();
      });
    }
  });
}

describe('executeSubgoal failures', () => {
  const cases: [string, string][] = [
    ['dance the robot dance', 'unknown_subgoal'],
    ['', 'unknown_subgoal'],
    ['put the purple block in the blue bowl', 'no_such_object'],
    ['put the red block in the green bowl', 'no_such_object'],
    ['put the blue block in the red bowl', 'blocked'],
    ['stack the red block on the blue block', 'blocked'],
    ['stack the red block on the red block', 'same_object'],
    ['move the red block to the left of the red block', 'same_object'],
    ['move the green block above the green block', 'same_object'],
    ['move the red block to the right of the green block', 'out_of_bounds'],
    ['move the red block above the yellow block', 'ok'],
  ];
  for (const [text, reason] of cases) {
    it(`"${text}" → ${reason}`, async () => {
      const w = await SimWorld.create(basicLayout(), { physics: false });
      const before = w.layout;
      const r = executeSubgoal(w, text);
      if (reason === 'ok') assert.ok(r.ok);
      else {
        assert.equal(r.ok, false);
        assert.equal(!r.ok && r.reason, reason);
        assert.equal(layoutKey(r.layout), layoutKey(before), 'a failed subgoal leaves the world unchanged');
        assert.equal(r.frame.width, 128);
      }
    });
  }

  it('too_high: a fourth block on a three-block stack', async () => {
    const w = await SimWorld.create(basicLayout(), { physics: false });
    assert.ok(executeSubgoal(w, 'stack the green block on the yellow block').ok);
    const r = executeSubgoal(w, 'stack the red block on the green block');
    assert.equal(!r.ok && r.reason, 'too_high');
  });

  it('occupied: moving next to an object onto a slot that holds blocks', async () => {
    const layout = basicLayout();
    layout[2]![4] = { bowl: null, stack: ['orange'] };
    const w = await SimWorld.create(layout, { physics: false });
    const r = executeSubgoal(w, 'move the red block to the left of the blue bowl');
    assert.equal(!r.ok && r.reason, 'occupied');
  });

  it('toppled: reported when the physical placement falls over', async () => {
    const w = await SimWorld.create(basicLayout(), { physics: true });
    const out = w.transfer({ r: 1, c: 1 }, { r: 4, c: 4 }, { releaseOffset: { x: 0.45, y: 0 } });
    assert.ok(out.toppled.length > 0);
    w.dispose();
  });
});

describe('describeSubgoal / parseSubgoal', () => {
  it('round-trips every canonical sentence', () => {
    for (const text of [PLACE[0]!, STACK[0]!, MOVE[0]![0], 'move the red block below the green block', 'move the red block to the right of the blue bowl', 'move the orange block above the red bowl']) {
      const action = parseSubgoal(text);
      assert.ok(action, text);
      assert.equal(describeSubgoal(action), text);
    }
  });
});
