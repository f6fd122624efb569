import assert from 'node:assert/strict';
import type { PlanMsg, SubgoalMsg } from '../../bridge/messages/rosTypes.ts';
import { makePipeline, rgbFrame, waitFor } from './pipelineHarness.ts';

const fb = (index: number, status: 'done' | 'failed', reason?: string) => ({ data: JSON.stringify({ index, status, ...(reason ? { reason } : {}) }) });

describe('BridgePipeline with a feedback topic (plan following)', () => {
  it('activates subgoals in turn on done feedback and completes the goal', async () => {
    const { transport, pipeline } = makePipeline({ topics: { feedback: '/emu/feedback' }, replan: { keyframeThreshold: 1 } });
    transport.inject('/camera/image_raw', rgbFrame(1));
    const done = pipeline.submitGoal('stack');
    const active = () => transport.published.filter((p) => p.topic === '/emu/subgoal').map((p) => p.message as SubgoalMsg).filter((s) => s.status === 1).map((s) => s.index);
    await waitFor(() => active().length === 1);
    assert.deepEqual(active(), [0]);
    transport.inject('/emu/feedback', fb(1, 'done'));
    transport.inject('/emu/feedback', fb(0, 'done'));
    await waitFor(() => active().length === 2);
    assert.deepEqual(active(), [0, 1], 'stale feedback for index 1 ignored, then 0 → 1');
    transport.inject('/emu/feedback', { data: 'not json' });
    transport.inject('/emu/feedback', fb(1, 'done'));
    const plan = await done;
    assert.deepEqual(plan.subgoals.map((s) => s.status), ['done', 'done']);
    const last = transport.published.filter((p) => p.topic === '/emu/plan').map((p) => p.message as PlanMsg).at(-1)!;
    assert.deepEqual(last.subgoals.map((s) => s.status), [2, 2]);
    assert.equal(pipeline.status.counters.plans_completed, 1);
    assert.equal(pipeline.status.distinctProblems, 1, 'malformed feedback reported');
    await pipeline.stop();
  });

  it('re-plans from the newest frame when the controller fails, and gives up after maxReplans', async () => {
    const { transport, pipeline, backend } = makePipeline({ topics: { feedback: '/emu/feedback' }, replan: { maxReplans: 1, keyframeThreshold: 1 } });
    transport.inject('/camera/image_raw', rgbFrame(1));
    const done = pipeline.submitGoal('stack');
    await waitFor(() => transport.published.some((p) => p.topic === '/emu/subgoal' && (p.message as SubgoalMsg).status === 1));
    transport.inject('/camera/image_raw', rgbFrame(2));
    transport.inject('/emu/feedback', fb(0, 'failed', 'dropped the block'));
    await waitFor(() => transport.published.filter((p) => p.topic === '/emu/subgoal' && (p.message as SubgoalMsg).status === 1).length === 2);
    const plans = transport.published.filter((p) => p.topic === '/emu/plan').map((p) => p.message as PlanMsg);
    const ids = [...new Set(plans.map((p) => p.plan_id))];
    assert.equal(ids.length, 2, 'a second plan');
    assert.equal(plans.at(-1)!.header.stamp.sec, 2, 'made from the newest frame');
    assert.equal(backend.requests.length, 2);
    transport.inject('/emu/feedback', fb(0, 'failed'));
    await assert.rejects(done, /re-plan budget of 1 spent/);
    assert.equal(pipeline.status.counters.plans_failed, 1);
    await pipeline.stop();
  });
});

describe('BridgePipeline: a plan cut off by the token budget', () => {
  it('is published as truncated and reported on the status with code truncated and the stop reason', async () => {
    const { ScriptedBackend, vlaEvents } = await import('../planners/ScriptedBackend.ts');
    const { EmuVlaPlanner } = await import('../../planners/EmuVlaPlanner.ts');
    const { BridgePipeline } = await import('../../bridge/pipeline/BridgePipeline.ts');
    const { parseBridgeConfig } = await import('../../bridge/pipeline/BridgeConfig.ts');
    const { MemoryTransport } = await import('../../bridge/transports/MemoryTransport.ts');
    const { recordingLogger, steps } = await import('./pipelineHarness.ts');
    const transport = new MemoryTransport();
    const backend = new ScriptedBackend(() => vlaEvents(steps, 'max_tokens'), 1);
    const pipeline = new BridgePipeline({ transport, planner: new EmuVlaPlanner(backend), config: parseBridgeConfig({}), log: recordingLogger() });
    pipeline.start();
    transport.inject('/camera/image_raw', rgbFrame(1));
    const plan = await pipeline.submitGoal('stack');
    assert.equal(plan.truncated, true);
    const last = transport.published.filter((p) => p.topic === '/emu/plan').map((p) => p.message as PlanMsg).at(-1)!;
    assert.equal(last.complete, true);
    assert.equal(last.truncated, true);
    const statuses = transport.published.filter((p) => p.topic === '/emu/status').map((p) => p.message as { error_code: string; error_message: string });
    assert.ok(statuses.some((s) => s.error_code === 'truncated' && /max_tokens/.test(s.error_message)));
    await pipeline.stop();
  });
});
