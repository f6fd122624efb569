import assert from 'node:assert/strict';
import { OraclePlanner } from '../../../planners/OraclePlanner.ts';
import { runEpisode } from '../../../sim/eval/runEpisode.ts';
import { simOracleSolver } from '../../../sim/eval/simOracleSolver.ts';
import { WorldView } from '../../../sim/eval/WorldView.ts';
import { isHeldoutPair, splitOf } from '../../../sim/tasks/generateScene.ts';
import { makeEpisode, SUITES } from '../../../sim/tasks/suites.ts';
import { blocksOn, bowlsOn, layoutKey } from '../../../sim/world/Layout.ts';
import { canonicalGoal } from '../../../planners/canonicalGoal.ts';

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

  // paraphrase-blind measures the loop's goal reader on wording its developers never read: a test that
  // failed on it would show them that wording, so the oracle's figure there is left to bench:planners.
  for (const suite of SUITES.filter((s) => s !== 'paraphrase-blind')) {
    it(`the oracle reaches 100% on ${suite} (held-out, physics on)`, async () => {
      const view = new WorldView();
      const planner = new OraclePlanner({ solve: simOracleSolver(view) });
      for (let seed = 0; seed < 3; seed++) {
        const result = await runEpisode(makeEpisode(suite, 'heldout', seed), planner, { physics: true, view });
        assert.ok(result.success, `${result.id}: ${JSON.stringify(result.subgoals)}`);
        assert.equal(result.completed, result.chainLength);
        if (suite === 'perturb') assert.ok(result.subgoals.some((s) => s.disturbance), 'the scene was disturbed');
        else assert.ok(result.subgoals.every((s) => s.keyframeAgreement === 1));
      }
    });
  }

  it('robustness suites: perturb disturbs before the last subgoal, camera and paraphrase keep the canonical judge, long8 has 6–8 subgoals, distractor clutters the targets', () => {
    for (let seed = 0; seed < 20; seed++) {
      const p = makeEpisode('perturb', 'heldout', seed);
      assert.equal(p.disturbances?.length, 1);
      assert.ok(p.disturbances![0]!.afterSubgoal < p.predicates.length - 1, p.id);
      const c = makeEpisode('camera', 'heldout', seed).camera!;
      assert.deepEqual([c.width, c.height], [640, 480]);
      assert.ok(c.jpegQuality >= 50 && c.jpegQuality <= 90 && c.noise >= 2 && c.noise <= 8);
      const para = makeEpisode('paraphrase', 'heldout', seed);
      assert.ok(para.canonicalGoal && para.canonicalGoal !== para.goal, para.id);
      assert.equal(makeEpisode('long8', 'heldout', seed).predicates.length, 6 + (seed % 3));
      const d = makeEpisode('distractor', 'heldout', seed);
      const named = new Set(d.predicates.flatMap((p) => [p.block, ...(p.type === 'on' ? [p.onto] : [])]));
      assert.ok(blocksOn(d.layout).filter((b) => !named.has(b)).length >= 1 && bowlsOn(d.layout).length === 3, d.id);
    }
  });

  it('the loop rewrites every paraphrase back to its canonical goal (planners/canonicalGoal.ts)', () => {
    let same = 0;
    for (let seed = 0; seed < 200; seed++) {
      const e = makeEpisode('paraphrase', 'heldout', seed);
      if (canonicalGoal(e.goal) === e.canonicalGoal) same++;
    }
    assert.ok(same >= 195, `${same}/200`);
  });
});
