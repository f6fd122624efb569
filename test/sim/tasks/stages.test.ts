import assert from 'node:assert/strict';
import { OraclePlanner } from '../../../planners/OraclePlanner.ts';
import { runEpisode } from '../../../sim/eval/runEpisode.ts';
import { simOracleSolver } from '../../../sim/eval/simOracleSolver.ts';
import { WorldView } from '../../../sim/eval/WorldView.ts';
import { allHold, type Predicate } from '../../../sim/tasks/predicates.ts';
import { StageTracker } from '../../../sim/tasks/stages.ts';
import { makeEpisode, reachingOraclePlan } from '../../../sim/tasks/suites.ts';
import { emptyLayout, type Layout } from '../../../sim/world/Layout.ts';

/** A layout with the red block at (r, c) and the red bowl at (0, 0). */
const at = (r: number, c: number): Layout => {
  const l = emptyLayout();
  l[0]![0] = { bowl: 'red', stack: r === 0 && c === 0 ? ['red'] : [] };
  if (r !== 0 || c !== 0) l[r]![c] = { bowl: null, stack: ['red'] };
  return l;
};
const IN: Predicate = { type: 'in', block: 'red', bowl: 'red' };
const RIGHT: Predicate = { type: 'rel', block: 'red', relation: 'right', ref: { type: 'bowl', colour: 'red' } };

describe('staged goals: parts judged in order along the episode (sim/tasks/stages.ts)', () => {
  it('counts a part once it held, even when a later part undoes it, and only in order', () => {
    const t = new StageTracker([[IN], [RIGHT], [IN]]);
    t.observe(at(3, 3));
    assert.equal(t.matched, 0);
    t.observe(at(0, 0));
    t.observe(at(0, 1));
    assert.equal(t.matched, 2, 'in, then right of the bowl (the first no longer holds)');
    assert.ok(!t.done);
    t.observe(at(0, 0));
    assert.ok(t.done);
    assert.equal(t.matchedPredicates, 3);

    const wrongOrder = new StageTracker([[RIGHT], [IN]]);
    wrongOrder.observe(at(0, 0));
    assert.equal(wrongOrder.matched, 0, 'the second part held first: nothing counts yet');
    const sameMoment = new StageTracker([[IN], [IN]]);
    sameMoment.observe(at(0, 0));
    assert.ok(sameMoment.done, 'parts that hold at the same moment count together');
  });

  it('long8 has 6, 7 and 8 subgoals by seed; the 7 and 8 step chains undo an earlier part, so only the staged judge can pass them', () => {
    const lengths = new Map<number, number>();
    for (let seed = 0; seed < 30; seed++) {
      const e = makeEpisode('long8', 'heldout', seed);
      assert.ok(e.stages && e.stages.length >= 3, e.id);
      assert.equal(e.predicates.length, e.stages.flat().length);
      lengths.set(e.predicates.length, (lengths.get(e.predicates.length) ?? 0) + 1);
      const plan = reachingOraclePlan(e.layout, e.predicates, e.stages)!;
      assert.equal(plan.length, e.predicates.length, `${e.id}: one oracle step per predicate`);
      if (e.predicates.length > 6) assert.ok(!allHold(plan.at(-1)!.layout, e.predicates), `${e.id}: the final state alone cannot show the chain`);
    }
    assert.deepEqual([...lengths.keys()].sort(), [6, 7, 8]);
    assert.ok([...lengths.values()].every((n) => n === 10), JSON.stringify([...lengths]));
  });

  it('the loop fails a chain whose part was skipped, and counts the parts that held before it', async () => {
    const episode = makeEpisode('long8', 'heldout', 1);
    assert.equal(episode.predicates.length, 7);
    const view = new WorldView();
    const solve = simOracleSolver(view);
    const last = episode.goal.split(', then ').at(-1)!;
    // An oracle that never does the last part (the sorted block taken out again): it plans nothing for it.
    const skipping = new OraclePlanner({ solve: (goal, frame) => (goal === last ? [] : solve(goal, frame)) });
    const failed = await runEpisode(episode, skipping, { physics: false, view, replan: { maxReplans: 1 } });
    assert.equal(failed.success, false);
    assert.equal(failed.completed, 6);
    const full = await runEpisode(episode, new OraclePlanner({ solve }), { physics: false, view });
    assert.ok(full.success, JSON.stringify(full.subgoals));
    assert.equal(full.completed, 7);
    assert.equal(full.subgoals.length, 7);
  });
});
