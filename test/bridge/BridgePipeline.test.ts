import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { BridgeStatusMsg, PlanMsg, SubgoalMsg } from '../../bridge/messages/rosTypes.ts';
import { makePipeline, rgbFrame, tick, waitFor } from './pipelineHarness.ts';

const of = <T>(t: { published: { topic: string; message: object }[] }, topic: string) => t.published.filter((p) => p.topic === topic).map((p) => p.message as T);

describe('BridgePipeline', () => {
  it('plans from the newest frame, publishing partial plans, subgoals in order and status', async () => {
    const { transport, pipeline } = makePipeline();
    transport.inject('/camera/image_raw', rgbFrame(10));
    transport.inject('/camera/image_raw', rgbFrame(11));
    transport.inject('/emu/goal', { data: ' put the cube in the bowl ' });
    await tick(1);
    await pipeline.whenIdle();
    const plans = of<PlanMsg>(transport, '/emu/plan');
    assert.ok(plans.length >= 3, `partial plans published (${plans.length})`);
    const final = plans.at(-1)!;
    assert.equal(final.complete, true);
    assert.equal(plans.filter((p) => p.complete).length, 1);
    assert.deepEqual(final.header, { stamp: { sec: 11, nanosec: 0 }, frame_id: 'cam' });
    assert.equal(final.goal, 'put the cube in the bowl');
    assert.deepEqual(final.subgoals.map((s) => s.instruction), ['Reach the red cube.', 'Put it in the bowl.']);
    assert.ok(final.subgoals.every((s) => s.has_keyframe && s.keyframe.format === 'png'));
    assert.equal(final.generated_tokens, 42);
    assert.ok(final.first_subgoal_ms >= 0 && final.first_subgoal_ms <= final.elapsed_ms);
    const subgoals = of<SubgoalMsg>(transport, '/emu/subgoal');
    assert.deepEqual(subgoals.map((s) => s.index), [0, 1]);
    assert.ok(subgoals.every((s) => s.plan_id === final.plan_id));
    const keyframe = await sharp(subgoals[1]!.keyframe.data).raw().toBuffer();
    assert.equal(keyframe[0], 120);
    const states = of<BridgeStatusMsg>(transport, '/emu/status').map((s) => s.state_name);
    assert.deepEqual(states.filter((s, i) => s !== states[i - 1]), ['inactive', 'idle', 'waiting_for_frame', 'planning', 'idle']);
    assert.equal(pipeline.status.counters.plans_completed, 1);
    await pipeline.stop();
  });

  it("times a plan from the request, so the planner's own time counts", async () => {
    const { transport, pipeline } = makePipeline({}, 4);
    transport.inject('/camera/image_raw', rgbFrame(1));
    const plan = await pipeline.submitGoal('stack');
    // The scripted stream takes ≥ 4 ms per event and the first subgoal forms after several events.
    assert.ok(plan.timing.firstSubgoalMs! >= 8, `firstSubgoalMs ${plan.timing.firstSubgoalMs}`);
    assert.ok(plan.timing.elapsedMs >= plan.timing.firstSubgoalMs!);
    await pipeline.stop();
  });

  it('a new goal cancels the plan in flight and stops its backend work', async () => {
    const { transport, pipeline, backend } = makePipeline({}, 3);
    transport.inject('/camera/image_raw', rgbFrame(1));
    transport.inject('/emu/goal', { data: 'first' });
    await tick(10);
    transport.inject('/emu/goal', { data: 'second' });
    await tick(1);
    await pipeline.whenIdle();
    assert.equal(backend.stoppedEarly, 1);
    assert.equal(pipeline.status.counters.plans_cancelled, 1);
    const complete = of<PlanMsg>(transport, '/emu/plan').filter((p) => p.complete);
    assert.deepEqual(complete.map((p) => p.goal), ['second']);
    await pipeline.stop();
  });

  it('serves the PlanTask action with feedback, and cancels on request', async () => {
    const { transport, pipeline, backend } = makePipeline({}, 2);
    transport.inject('/camera/image_raw', rgbFrame(3));
    const feedback: string[] = [];
    const result = await transport.sendGoal('/emu/plan_task', { instruction: 'stack' }, { onFeedback: (f) => feedback.push(`${f.partial_plan.subgoals.length}:${f.current_subgoal.index}`) });
    assert.equal(result.plan.complete, true);
    assert.equal(result.plan.subgoals.length, 2);
    assert.ok(feedback.length >= 3);
    const controller = new AbortController();
    const pending = transport.sendGoal('/emu/plan_task', { instruction: 'again' }, { signal: controller.signal });
    await tick(5);
    controller.abort();
    await assert.rejects(pending, (e: any) => e.code === 'aborted');
    assert.equal(backend.stoppedEarly, 1);
    await assert.rejects(transport.sendGoal('/emu/plan_task', { instruction: '  ' }), /goal is empty/);
    for (const bad of [42, null, { instruction: 7 }]) {
      await assert.rejects(transport.sendGoal('/emu/plan_task', bad as never), { code: 'input_invalid', message: /goal must be a string/ }, JSON.stringify(bad));
    }
    await pipeline.stop();
  });

  it('rejects bad frames and goals with a reason, logged once, and keeps good messages', async () => {
    const { transport, pipeline, log } = makePipeline({ planner: { maxGoalChars: 50 } }, 2);
    const bad = [
      { ...rgbFrame(1), step: 5 },
      { ...rgbFrame(1), data: new Uint8Array(10) },
      { ...rgbFrame(1), encoding: 'yuv422' },
      { ...rgbFrame(1), width: 0, step: 0, data: new Uint8Array(0) },
      { ...rgbFrame(1), width: 7680, height: 4320, step: 7680 * 3, data: new Uint8Array(0) },
      { header: 'nope' },
      null,
    ];
    transport.inject('/camera/image_raw', rgbFrame(5, 8, 6, 200));
    transport.inject('/emu/goal', { data: 'good goal' });
    for (let round = 0; round < 3; round++) for (const m of bad) transport.inject('/camera/image_raw', m);
    transport.inject('/emu/goal', { data: '' });
    transport.inject('/emu/goal', { data: 'x'.repeat(51) });
    transport.inject('/emu/goal', { nope: 1 });
    await tick(1);
    await pipeline.whenIdle();
    const c = pipeline.status.counters;
    assert.equal(c.frames_rejected, 21);
    assert.equal(c.frames_received, 22);
    assert.equal(c.goals_rejected, 3);
    assert.equal(c.plans_completed, 1, 'bad goals did not cancel the good one');
    assert.equal(c.plans_cancelled, 0);
    const warnings = log.lines.filter((l) => l.startsWith('W'));
    assert.equal(warnings.length, 10, warnings.join('\n'));
    for (const reason of [/step 5 is shorter/, /truncated: 10 bytes/, /unsupported image encoding 'yuv422'/, /zero size/, /exceeds the 8294400 px limit/, /goal is empty/, /51 characters/]) {
      assert.ok(warnings.some((w) => reason.test(w)), `logged: ${reason}`);
    }
    const statuses = transport.published.filter((p) => p.topic === '/emu/status').map((p) => p.message as BridgeStatusMsg);
    assert.ok(statuses.some((s) => s.error_code === 'image_invalid' && /yuv422/.test(s.error_message)));
    await pipeline.stop();
  });

  it('survives messages whose fields throw on access, goals that are not strings, and goals after stop, each with a typed error', async () => {
    const { transport, pipeline } = makePipeline({ topics: { compressedImage: '/camera/compressed' } });
    const hostile = new Proxy({}, { get() { throw new Error('boom'); }, has() { throw new Error('boom'); }, ownKeys() { throw new Error('boom'); } });
    const getter = { get data(): string { throw new Error('getter boom'); } };
    transport.inject('/camera/image_raw', hostile);
    transport.inject('/camera/compressed', hostile);
    transport.inject('/emu/goal', getter);
    transport.inject('/emu/goal', { data: 42 });
    transport.inject('/camera/image_raw', rgbFrame(3));
    assert.equal(pipeline.status.counters.frames_rejected, 2);
    assert.equal(pipeline.status.counters.goals_rejected, 2);
    const plan = await pipeline.submitGoal('still planning');
    assert.equal(plan.complete, true, 'the node kept running');
    await pipeline.stop();
    await assert.rejects(pipeline.submitGoal('too late'), { code: 'input_invalid', message: /stopped/ });
  });

  it('decodes JPEG/PNG compressed frames and rejects garbage', async () => {
    const { transport, pipeline } = makePipeline({ topics: { compressedImage: '/camera/image_raw/compressed' } });
    const raw = { raw: { width: 8, height: 6, channels: 3 as const } };
    const png = await sharp(new Uint8Array(8 * 6 * 3).fill(90), raw).png().toBuffer();
    const jpeg = await sharp(new Uint8Array(8 * 6 * 3).fill(90), raw).jpeg().toBuffer();
    const header = (sec: number) => ({ stamp: { sec, nanosec: 0 }, frame_id: 'cam' });
    transport.inject('/camera/image_raw/compressed', { header: header(1), format: 'jpeg', data: new Uint8Array(jpeg) });
    await waitFor(() => pipeline.sampler.latest?.stamp.sec === 1);
    transport.inject('/camera/image_raw/compressed', { header: header(2), format: 'png', data: new Uint8Array(png) });
    await waitFor(() => pipeline.sampler.latest?.stamp.sec === 2);
    assert.equal(pipeline.sampler.latest?.image.data[0], 90);
    transport.inject('/camera/image_raw/compressed', { header: header(3), format: 'png', data: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5]) });
    transport.inject('/camera/image_raw/compressed', { header: header(4), format: 'jpeg', data: new Uint8Array([1, 2, 3]) });
    await waitFor(() => pipeline.status.counters.frames_rejected === 2);
    assert.equal(pipeline.sampler.latest?.stamp.sec, 2);
    await pipeline.stop();
  });
});
