import assert from 'node:assert/strict';
import { OraclePlanner } from '../../planners/OraclePlanner.ts';
import { createRgbImage } from '../../sdk/image/RgbImage.ts';
import { simOracleSolver } from '../../sim/eval/simOracleSolver.ts';
import { WorldView } from '../../sim/eval/WorldView.ts';

describe('OraclePlanner', () => {
  const frame = createRgbImage(16, 16);

  it('plans from the state its solver was built with, with keyframes', async () => {
    const state = { x: 1 };
    const planner = new OraclePlanner({ solve: (goal) => [{ instruction: `${goal} given ${JSON.stringify(state)}`, keyframe: frame }] });
    const plan = await planner.plan({ frame, goal: 'g' });
    assert.deepEqual(plan.subgoals.map((s) => s.instruction), ['g given {"x":1}']);
    assert.equal(plan.subgoals[0]!.keyframe, frame);
    assert.ok(plan.latencyMs >= 0);
  });

  it('the simulator oracle refuses to plan outside the harness (no world attached), and honours abort', async () => {
    const planner = new OraclePlanner({ solve: simOracleSolver(new WorldView()) });
    await assert.rejects(planner.plan({ frame, goal: 'g' }), { code: 'input_invalid', message: /no simulated world is attached/ });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(planner.plan({ frame, goal: 'g' }, { signal: ac.signal }), { code: 'aborted' });
  });
});
