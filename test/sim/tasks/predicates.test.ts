import assert from 'node:assert/strict';
import { oraclePlan } from '../../../sim/tasks/oraclePlan.ts';
import { parseGoal, SORT_GOAL, towerGoal } from '../../../sim/tasks/parseGoal.ts';
import { holds, type Predicate } from '../../../sim/tasks/predicates.ts';
import { emptyLayout } from '../../../sim/world/Layout.ts';
import { basicLayout } from '../testScenes.ts';

describe('predicates', () => {
  const layout = basicLayout();
  layout[2]![5] = { bowl: 'blue', stack: ['red'] };
  layout[1]![1] = null;
  const cases: [Predicate, boolean][] = [
    [{ type: 'in', block: 'red', bowl: 'blue' }, true],
    [{ type: 'in', block: 'red', bowl: 'red' }, false],
    [{ type: 'in', block: 'purple', bowl: 'blue' }, false],
    [{ type: 'on', block: 'yellow', onto: 'blue' }, true],
    [{ type: 'on', block: 'blue', onto: 'yellow' }, false],
    [{ type: 'rel', block: 'yellow', relation: 'below', ref: { type: 'bowl', colour: 'blue' } }, false],
    [{ type: 'rel', block: 'green', relation: 'above', ref: { type: 'block', colour: 'red' } }, false],
    [{ type: 'rel', block: 'red', relation: 'right', ref: { type: 'block', colour: 'blue' } }, false],
  ];
  for (const [p, expected] of cases) {
    it(`${JSON.stringify(p)} → ${expected}`, () => assert.equal(holds(layout, p), expected));
  }

  it('rel: the adjacent slot in image space', () => {
    const l = emptyLayout();
    l[3]![3] = { bowl: 'green', stack: [] };
    l[3]![2] = { bowl: null, stack: ['red'] };
    l[2]![3] = { bowl: null, stack: ['blue'] };
    assert.ok(holds(l, { type: 'rel', block: 'red', relation: 'left', ref: { type: 'bowl', colour: 'green' } }));
    assert.ok(holds(l, { type: 'rel', block: 'blue', relation: 'above', ref: { type: 'bowl', colour: 'green' } }));
    assert.ok(!holds(l, { type: 'rel', block: 'blue', relation: 'below', ref: { type: 'bowl', colour: 'green' } }));
  });
});

describe('parseGoal and the canonical oracle order', () => {
  it('sorts in the fixed colour order red, green, blue', () => {
    const l = emptyLayout();
    l[0]![0] = { bowl: null, stack: ['blue'] };
    l[0]![1] = { bowl: null, stack: ['red'] };
    l[5]![5] = { bowl: 'red', stack: [] };
    l[6]![6] = { bowl: 'blue', stack: [] };
    l[7]![7] = { bowl: 'green', stack: [] };
    const plan = oraclePlan(l, parseGoal(SORT_GOAL, l)!);
    assert.deepEqual(plan.map((s) => s.subgoal), ['put the red block in the red bowl', 'put the blue block in the blue bowl']);
  });

  it('builds towers bottom→top and chains parts in order', () => {
    const l = basicLayout();
    const goal = `put the red block in the blue bowl, then ${towerGoal(['green', 'red', 'yellow'])}`;
    const preds = parseGoal(goal, l)!;
    assert.equal(preds.length, 3);
    const plan = oraclePlan(l, preds);
    assert.deepEqual(plan.map((s) => s.subgoal), ['put the red block in the blue bowl', 'stack the red block on the green block', 'stack the yellow block on the red block']);
  });

  it('returns null for text that is not a goal', () => {
    assert.equal(parseGoal('make me a sandwich', basicLayout()), null);
  });
});
