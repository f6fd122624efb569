import assert from 'node:assert/strict';
import { TrivialPlanner } from '../../planners/TrivialPlanner.ts';
import { createRgbImage } from '../../sdk/image/RgbImage.ts';

describe('TrivialPlanner', () => {
  const frame = createRgbImage(16, 16, [1, 2, 3]);

  it('echo: the goal is the only subgoal, without keyframes', async () => {
    const plan = await new TrivialPlanner({ mode: 'echo' }).plan({ frame, goal: 'sort the blocks' });
    assert.deepEqual(plan.subgoals, [{ instruction: 'sort the blocks' }]);
  });

  it('random: one deterministic pick among the candidates', async () => {
    const candidates = () => ['a', 'b', 'c', 'd', 'e'];
    const planner = new TrivialPlanner({ candidates });
    const picks = await Promise.all(['g1', 'g2', 'g3', 'g4', 'g5', 'g6'].map((goal) => planner.plan({ frame, goal })));
    const again = await Promise.all(['g1', 'g2', 'g3', 'g4', 'g5', 'g6'].map((goal) => planner.plan({ frame, goal })));
    assert.deepEqual(picks, again.map((p, i) => ({ ...p, latencyMs: picks[i]!.latencyMs })));
    assert.ok(picks.every((p) => p.subgoals.length === 1 && candidates().includes(p.subgoals[0]!.instruction)));
    assert.ok(new Set(picks.map((p) => p.subgoals[0]!.instruction)).size > 1);
    const none = await new TrivialPlanner({ candidates: () => [] }).plan({ frame, goal: 'x' });
    assert.deepEqual(none.subgoals, []);
  });
});
