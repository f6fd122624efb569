import assert from 'node:assert/strict';
import { OraclePlanner } from '../../../planners/OraclePlanner.ts';
import { runEpisode } from '../../../sim/eval/runEpisode.ts';
import { simOracleSolver } from '../../../sim/eval/simOracleSolver.ts';
import { WorldView } from '../../../sim/eval/WorldView.ts';
import { isHeldoutPair, splitOf } from '../../../sim/tasks/generateScene.ts';
import { makeEpisode, SUITES } from '../../../sim/tasks/suites.ts';
import { layoutKey } from '../../../sim/world/Layout.ts';

describe('suites', () => {
  it('episodes are deterministic per (suite, split, seed)', () => {
    for (const suite of SUITES) {
      const a = makeEpisode(suite, 'train', 3);
      const b = makeEpisode(suite, 'train', 3);
      assert.deepEqual(a, b);
      assert.notEqual(layoutKey(a.layout), layoutKey(makeEpisode(suite, 'train', 4).layout));
    }
  });

  it('keeps held-out layouts and colour pairings out of train', () => {
    let heldoutPairs = 0;
    for (let seed = 0; seed < 40; seed++) {
      for (const suite of ['object', 'goal'] as const) {
        const train = makeEpisode(suite, 'train', seed);
        const held = makeEpisode(suite, 'heldout', seed);
        assert.equal(splitOf(train.layout), 'train');
        assert.equal(splitOf(held.layout), 'heldout');
        for (const p of train.predicates) if (p.type === 'in') assert.ok(!isHeldoutPair(p.block, p.bowl), `${train.id}: ${p.block}/${p.bowl}`);
        if (held.predicates.some((p) => p.type === 'in' && isHeldoutPair(p.block, p.bowl))) heldoutPairs++;
      }
    }
    assert.ok(heldoutPairs > 10, `held-out pairs used ${heldoutPairs} times`);
  });

  it('long chains have 2–5 subgoals', () => {
    const lengths = new Set(Array.from({ length: 30 }, (_, s) => makeEpisode('long', 'train', s).predicates.length));
    assert.ok([...lengths].every((n) => n >= 2 && n <= 5));
    assert.ok(lengths.size >= 3);
  });

  for (const suite of SUITES) {
    it(`the oracle reaches 100% on ${suite} (held-out, physics on)`, async () => {
      const view = new WorldView();
      const planner = new OraclePlanner({ solve: simOracleSolver(view) });
      for (let seed = 0; seed < 3; seed++) {
        const result = await runEpisode(makeEpisode(suite, 'heldout', seed), planner, { physics: true, view });
        assert.ok(result.success, `${result.id}: ${JSON.stringify(result.subgoals)}`);
        assert.equal(result.completed, result.chainLength);
        assert.ok(result.subgoals.every((s) => s.keyframeAgreement === 1));
      }
    });
  }
});
