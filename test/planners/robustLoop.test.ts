import assert from 'node:assert/strict';
import { type Observable, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { canonicalGoal } from '../../planners/canonicalGoal.ts';
import { frameDistance, patchDistance } from '../../planners/frameDistance.ts';
import { type ControllerFeedback, type ExecutorEvent, goalParts, PlanExecutor, type PlanExecutorOptions } from '../../planners/PlanExecutor.ts';
import type { Planner, PlanProgress, PlanRequest } from '../../planners/Planner.ts';
import { prepareFrame } from '../../planners/prepareFrame.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';

const TABLE = [200, 190, 175] as const;
/** A 128×128 table with 8×8-pixel blocks at slot centres (16 px per slot). */
function table(blocks: { r: number; c: number; rgb: readonly [number, number, number] }[], gain = 1): RgbImage {
  const data = new Uint8Array(128 * 128 * 3);
  for (let i = 0; i < data.length; i += 3) data.set(TABLE.map((v) => Math.min(255, Math.round(v * gain))), i);
  for (const b of blocks) for (let y = 4; y < 12; y++) for (let x = 4; x < 12; x++) data.set(b.rgb.map((v) => Math.min(255, Math.round(v * gain))), ((b.r * 16 + y) * 128 + b.c * 16 + x) * 3);
  return { width: 128, height: 128, data };
}
const RED = [220, 40, 40] as const;

class ScriptPlanner implements Planner {
  readonly name = 'script';
  readonly goals: string[] = [];
  constructor(private readonly make: (call: number, goal: string) => PlanProgress) {}
  async plan(): Promise<never> {
    throw new Error('planStream only');
  }
  planStream(request: PlanRequest): Observable<PlanProgress> {
    this.goals.push(request.goal);
    return of(this.make(this.goals.length - 1, request.goal));
  }
}

function run(planner: Planner, options: PlanExecutorOptions, goal: string, frame: RgbImage, feedback: string, values: Record<string, ControllerFeedback>): string[] {
  const log: string[] = [];
  const scheduler = new TestScheduler(assert.deepEqual);
  scheduler.run(({ hot, flush }) => {
    new PlanExecutor(planner, { ...options, scheduler })
      .run({ goal, frames: hot('a', { a: frame }), feedback: hot(feedback, values) })
      .subscribe((e: ExecutorEvent) => log.push(e.type === 'finished' ? `finished(${e.outcome},${e.replans})` : e.type === 'replan' ? `replan(${e.reason})` : e.type === 'planning' ? `planning(${e.reason}:${e.goal})` : e.type));
    flush();
  });
  return log;
}

describe('the loop on a robot: keyframe checks that see one block, wording, chained goals, camera frames', () => {
  it('patchDistance sees one block out of place, which the whole-frame mean does not; a brightness change is not a scene change', () => {
    const before = table([{ r: 2, c: 3, rgb: RED }, { r: 5, c: 5, rgb: [40, 80, 220] }]);
    const moved = table([{ r: 2, c: 6, rgb: RED }, { r: 5, c: 5, rgb: [40, 80, 220] }]);
    assert.ok(patchDistance(moved, before) > 0.06, `patch ${patchDistance(moved, before)}`);
    assert.ok(frameDistance(moved, before) < 0.02, `mean ${frameDistance(moved, before)}`);
    assert.ok(patchDistance(table([{ r: 2, c: 3, rgb: RED }, { r: 5, c: 5, rgb: [40, 80, 220] }], 0.85), before) < 0.03);
    assert.equal(patchDistance(before, before), 0);
  });

  it('a re-plan that repeats the subgoal whose keyframe mismatched is not charged, and that keyframe is not checked again', () => {
    const far = table([{ r: 0, c: 0, rgb: RED }]);
    const near = table([]);
    const plan: PlanProgress = { subgoals: [{ instruction: 'put a', keyframe: far }, { instruction: 'put b' }], complete: true };
    const planner = new ScriptPlanner(() => plan);
    const log = run(planner, { maxReplans: 1 }, 'g', near, '- 9ms x 9ms y 9ms z', { x: { type: 'done', index: 0, frame: near }, y: { type: 'done', index: 0, frame: near }, z: { type: 'done', index: 1 } });
    assert.deepEqual(log.filter((l) => /replan|finished/.test(l)), ['replan(keyframe_mismatch)', 'finished(succeeded,0)']);
    // A re-plan that changes course is charged.
    const changed = new ScriptPlanner((call) => (call === 0 ? plan : { subgoals: [{ instruction: 'put c' }], complete: true }));
    const log2 = run(changed, { maxReplans: 1 }, 'g', near, '- 9ms x 9ms y', { x: { type: 'done', index: 0, frame: near }, y: { type: 'done', index: 0 } });
    assert.deepEqual(log2.filter((l) => /replan|finished/.test(l)), ['replan(keyframe_mismatch)', 'finished(succeeded,1)']);
  });

  it("plans an 'A, then B' goal part by part, each from the newest frame, with the wording canonicalised", () => {
    assert.deepEqual(goalParts('sort the blocks into the bowls of matching colour, then stack the red block on the blue block'), ['sort the blocks into the bowls of matching colour', 'stack the red block on the blue block']);
    const planner = new ScriptPlanner((_, goal) => ({ subgoals: [{ instruction: goal }], complete: true }));
    const log = run(planner, {}, 'Could you please put the crimson cube into the azure dish, after that on top of the golden brick, stack the violet block, thanks', table([]), '- 9ms x 9ms y', {
      x: { type: 'done', index: 0 },
      y: { type: 'done', index: 0 },
    });
    assert.deepEqual(planner.goals, ['put the red block in the blue bowl', 'stack the purple block on the yellow block']);
    assert.deepEqual(log.filter((l) => l.startsWith('planning')), ['planning(initial:put the red block in the blue bowl)', 'planning(next_part:stack the purple block on the yellow block)']);
    assert.equal(log.at(-1), 'finished(succeeded,0)');
    // Off, the goal goes to the planner as given.
    const raw = new ScriptPlanner((_, goal) => ({ subgoals: [{ instruction: goal }], complete: true }));
    run(raw, { canonicalGoal: false, chainGoals: false }, 'A, then B', table([]), '- 9ms x', { x: { type: 'done', index: 0 } });
    assert.deepEqual(raw.goals, ['A, then B']);
  });

  it('canonicalGoal: synonyms, politeness, clause order, typos (swaps and dropped letters), two-block towers; unknown text passes through', () => {
    assert.equal(canonicalGoal('Kindly into the scarlet basin, put the goldn bick.'), 'put the yellow block in the red bowl');
    assert.equal(canonicalGoal('to the left of the navy bowl is where the lime cube should go'), 'move the green block to the left of the blue bowl');
    assert.equal(canonicalGoal('i would like you to sort the blocs into the bowls of matching color'), 'sort the blocks into the bowls of matching colour');
    assert.equal(canonicalGoal('build a tower with the orange block at the bottom and the yellow block on top'), 'stack the yellow block on the orange block');
    assert.equal(canonicalGoal('wave at the camera'), 'wave at the camera');
  });

  it('prepareFrame crops letterbox bars and calibrates the median colour to a reference', () => {
    const content = table([{ r: 1, c: 1, rgb: RED }], 0.8);
    const frame = { width: 192, height: 128, data: new Uint8Array(192 * 128 * 3) };
    for (let y = 0; y < 128; y++) frame.data.set(content.data.subarray(y * 128 * 3, (y + 1) * 128 * 3), (y * 192 + 32) * 3);
    const cropped = prepareFrame(frame, { crop: 'letterbox' });
    assert.deepEqual([cropped.width, cropped.height], [128, 128]);
    const calibrated = prepareFrame(frame, { crop: 'letterbox', whiteReference: [...TABLE] });
    assert.deepEqual([...calibrated.data.subarray(0, 3)], [...TABLE]);
    assert.equal(prepareFrame(content, { crop: 'none' }), content);
  });
});
