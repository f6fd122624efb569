import assert from 'node:assert/strict';
import { pack as encode, unpack as decode } from 'msgpackr';
import { PlanSchema, stampFromMs, stampToMs, type Plan } from '../../planners/Plan.ts';
import { decodeKeyframe, encodeKeyframe } from '../../planners/keyframeCodec.ts';
import { createRgbImage } from '../../sdk/image/RgbImage.ts';

async function samplePlan(): Promise<Plan> {
  const image = createRgbImage(4, 3, [10, 20, 30]);
  image.data[5] = 200;
  return {
    planId: 'p-1',
    goal: 'stack the cubes',
    planner: 'test',
    source: { stamp: { sec: 12, nanosec: 500 }, frameId: 'camera', width: 4, height: 3 },
    subgoals: [
      { index: 0, instruction: 'pick red', keyframe: await encodeKeyframe(image), status: 'active' },
      { index: 1, instruction: 'place on blue', status: 'pending' },
    ],
    complete: true,
    truncated: false,
    timing: { startedAtMs: 1000, elapsedMs: 12.5, firstSubgoalMs: 3 },
    usage: { generatedTokens: 10, forwardPasses: 20 },
  };
}

describe('Plan schema', () => {
  it('round-trips through JSON and msgpack unchanged and validates', async () => {
    const plan = await samplePlan();
    assert.deepEqual(PlanSchema.parse(JSON.parse(JSON.stringify(plan))), plan);
    assert.deepEqual(PlanSchema.parse(decode(encode(plan))), plan);
  });

  it('keeps keyframe pixels lossless through PNG base64', async () => {
    const plan = await samplePlan();
    const back = await decodeKeyframe(plan.subgoals[0]!.keyframe!);
    assert.equal(back.width, 4);
    assert.equal(back.data[5], 200);
    assert.equal(back.data[0], 10);
  });

  it('rejects out-of-order subgoals, bad status and bad nanosec', async () => {
    const plan = await samplePlan();
    const swapped = { ...plan, subgoals: [plan.subgoals[1], plan.subgoals[0]] };
    assert.equal(PlanSchema.safeParse(swapped).success, false);
    assert.equal(PlanSchema.safeParse({ ...plan, subgoals: [{ ...plan.subgoals[0], status: 'maybe' }] }).success, false);
    assert.equal(PlanSchema.safeParse({ ...plan, source: { ...plan.source, stamp: { sec: 1, nanosec: 1e9 } } }).success, false);
  });

  it('converts stamps to and from milliseconds', () => {
    assert.deepEqual(stampFromMs(1500.25), { sec: 1, nanosec: 500_250_000 });
    assert.equal(stampToMs({ sec: 2, nanosec: 5_000_000 }), 2005);
  });
});
