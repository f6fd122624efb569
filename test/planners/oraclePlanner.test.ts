import assert from 'node:assert/strict';
import { OraclePlanner } from '../../planners/OraclePlanner.ts';
import { createRgbImage } from '../../sdk/image/RgbImage.ts';

describe('OraclePlanner', () => {
  const frame = createRgbImage(16, 16);
  const solve = (goal: string, privileged: unknown) => [{ instruction: `${goal} given ${JSON.stringify(privileged)}`, keyframe: frame }];

  it('plans from the privileged state through its solver, with keyframes', async () => {
    const planner = new OraclePlanner({ solve });
    const plan = await planner.plan({ frame, goal: 'g', privileged: { x: 1 } });
    assert.deepEqual(plan.subgoals.map((s) => s.instruction), ['g given {"x":1}']);
    assert.equal(plan.subgoals[0]!.keyframe, frame);
    assert.ok(plan.latencyMs >= 0);
  });

  it('refuses to plan without privileged state, and honours abort', async () => {
    const planner = new OraclePlanner({ solve });
    await assert.rejects(planner.plan({ frame, goal: 'g' }), /privileged/);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(planner.plan({ frame, goal: 'g', privileged: {} }, { signal: ac.signal }), { code: 'aborted' });
  });
});
