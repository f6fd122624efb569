import assert from 'node:assert/strict';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { EmuVlaPlanner } from '../../planners/EmuVlaPlanner.ts';
import { createRgbImage } from '../../sdk/image/RgbImage.ts';
import { ScriptedBackend, solidImage, vlaEvents } from './ScriptedBackend.ts';

const frame = createRgbImage(8, 6, [1, 2, 3]);
const steps = [
  { text: ' Reach for the red cube. ', image: solidImage(4, 4, 50), cot: 'arm moves' },
  { text: 'Lift it.', image: solidImage(4, 4, 90) },
  { text: ' Done ' },
];

describe('EmuVlaPlanner', () => {
  it('sends a vla request with the frame and trimmed goal, and returns parsed subgoals with usage', async () => {
    const backend = new ScriptedBackend(() => vlaEvents(steps));
    const planner = new EmuVlaPlanner(backend, { sampling: { maxNewTokens: 64 }, seed: 7 });
    const result = await planner.plan({ frame, goal: '  stack it ' });
    assert.equal(backend.requests[0]!.task, 'vla');
    assert.equal(backend.requests[0]!.prompt, 'stack it');
    assert.equal(backend.requests[0]!.images![0]!.width, 8);
    assert.deepEqual(backend.requests[0]!.sampling, { maxNewTokens: 64 });
    assert.equal(backend.requests[0]!.seed, 7);
    assert.deepEqual(result.subgoals.map((s) => s.instruction), ['Reach for the red cube.', 'Lift it.', 'Done']);
    assert.equal(result.subgoals[1]!.keyframe!.data[0], 90);
    assert.equal(result.subgoals[2]!.keyframe, undefined);
    assert.deepEqual(result.usage, { generatedTokens: 42, forwardPasses: 82 });
    assert.ok(result.latencyMs >= 0);
  });

  it('streams partial plans as subgoals and keyframes arrive, then a complete one', async () => {
    const planner = new EmuVlaPlanner(new ScriptedBackend(() => vlaEvents(steps)));
    const all = await lastValueFrom(planner.planStream({ frame, goal: 'stack' }).pipe(toArray()));
    const shape = all.map((p) => `${p.complete ? 'C' : 'P'}:${p.subgoals.map((s) => (s.keyframe ? 'K' : 'T')).join('')}`);
    assert.deepEqual(shape, ['P:T', 'P:K', 'P:KT', 'P:KK', 'C:KKT']);
    assert.equal(all[0]!.subgoals[0]!.instruction, 'Reach for the red cube.');
  });

  it('stops the backend when the subscriber leaves after the first subgoal', async () => {
    const backend = new ScriptedBackend(() => vlaEvents(steps));
    const planner = new EmuVlaPlanner(backend);
    const first = await firstValueFrom(planner.planStream({ frame, goal: 'stack' }));
    assert.equal(first.subgoals.length, 1);
    assert.equal(backend.stoppedEarly, 1);
    const emitted = backend.eventsEmitted;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(backend.eventsEmitted, emitted, 'no events after unsubscribe');
  });

  it('rejects with AbortError when aborted mid-plan and stops the backend', async () => {
    const backend = new ScriptedBackend(() => vlaEvents(steps), 2);
    const controller = new AbortController();
    const pending = new EmuVlaPlanner(backend).plan({ frame, goal: 'stack' }, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('new goal')), 5);
    await assert.rejects(pending, (e: any) => e.code === 'aborted');
    assert.equal(backend.stoppedEarly, 1);
  });

  it('rejects empty/huge goals and malformed frames before touching the backend', async () => {
    const backend = new ScriptedBackend(() => vlaEvents(steps));
    const planner = new EmuVlaPlanner(backend, { maxGoalChars: 10 });
    await assert.rejects(planner.plan({ frame, goal: '   ' }), /goal is empty/);
    await assert.rejects(planner.plan({ frame, goal: 'x'.repeat(11) }), /11 characters, the limit is 10/);
    await assert.rejects(planner.plan({ frame: { width: 4, height: 4, data: new Uint8Array(5) }, goal: 'go' }), (e: any) => e.code === 'image_invalid');
    assert.equal(backend.requests.length, 0);
  });

  it('fails with EngineError when the backend ends without done', async () => {
    const planner = new EmuVlaPlanner(new ScriptedBackend(() => vlaEvents(steps).slice(0, 3)));
    await assert.rejects(planner.plan({ frame, goal: 'go' }), /without a done event/);
  });
});
