import assert from 'node:assert/strict';
import { BridgeLifecycle, LifecycleError, type LifecycleEvent } from '../../bridge/BridgeLifecycle.ts';
import type { BridgeStatusMsg, PlanMsg } from '../../bridge/messages/rosTypes.ts';
import { parseBridgeConfig } from '../../bridge/pipeline/BridgeConfig.ts';
import { bridgeParameterSpecs, parameterValue, withParameters } from '../../bridge/ros/bridgeParameters.ts';
import { transitionOf } from '../../bridge/ros/lifecycleServices.ts';
import { MemoryTransport } from '../../bridge/transports/MemoryTransport.ts';
import { EmuVlaPlanner } from '../../planners/EmuVlaPlanner.ts';
import { ConfigError } from '../../sdk/errors.ts';
import { ScriptedBackend, vlaEvents } from '../planners/ScriptedBackend.ts';
import { recordingLogger, rgbFrame, steps, waitFor } from './pipelineHarness.ts';

const of = <T>(t: MemoryTransport, topic: string) => t.published.filter((p) => p.topic === topic).map((p) => p.message as T);

function makeNode(delayMs = 1) {
  const transport = new MemoryTransport();
  const backend = new ScriptedBackend(() => vlaEvents(steps), delayMs);
  const node = new BridgeLifecycle(parseBridgeConfig({}), { transport, planner: new EmuVlaPlanner(backend), log: recordingLogger() });
  const events: LifecycleEvent[] = [];
  node.events.subscribe((e) => events.push(e));
  return { transport, backend, node, events };
}

describe('BridgeLifecycle (the bridge as a managed node)', () => {
  it('configure → activate → deactivate → cleanup → shutdown, goals refused with a reason unless active', async () => {
    const { transport, node, events } = makeNode();
    assert.equal(node.state, 'unconfigured');
    await assert.rejects(node.activate(), (e: unknown) => e instanceof LifecycleError && /cannot activate from unconfigured/.test((e as Error).message));

    await node.configure();
    assert.equal(node.state, 'inactive');
    transport.inject('/camera/image_raw', rgbFrame(1));
    transport.inject('/emu/goal', { data: 'ignored while inactive' });
    await assert.rejects(transport.sendGoal('/emu/plan_task', { instruction: 'put the cube in the bowl' }), /the node is inactive \(activate it first\)/);
    const inactive = of<BridgeStatusMsg>(transport, '/emu/status').at(-1)!;
    assert.equal(inactive.state_name, 'inactive');
    assert.match(inactive.error_message, /inactive/);
    assert.equal(of<PlanMsg>(transport, '/emu/plan').length, 0, 'no input is listened to while inactive');

    await node.activate();
    transport.inject('/camera/image_raw', rgbFrame(2));
    const result = (await transport.sendGoal('/emu/plan_task', { instruction: 'put the cube in the bowl' })) as { plan: PlanMsg };
    assert.equal(result.plan.subgoals.length, 2);
    assert.deepEqual(result.plan.header.stamp, { sec: 2, nanosec: 0 }, 'planned from a frame received while active');

    await node.deactivate();
    transport.inject('/camera/image_raw', rgbFrame(3));
    await assert.rejects(transport.sendGoal('/emu/plan_task', { instruction: 'again' }), /inactive/);
    await node.cleanup();
    assert.equal(node.pipeline, undefined);
    await node.configure();
    await node.activate();
    transport.inject('/camera/image_raw', rgbFrame(4));
    const again = (await transport.sendGoal('/emu/plan_task', { instruction: 'put the cube in the bowl' })) as { plan: PlanMsg };
    assert.deepEqual(again.plan.header.stamp, { sec: 4, nanosec: 0 }, 'a frame from before deactivate is not kept');
    await node.shutdown();
    assert.equal(node.state, 'finalized');
    await node.finalized;
    const ends = events.filter((e) => e.ok !== undefined).map((e) => `${e.transition}:${e.to}`);
    assert.deepEqual(ends, ['configure:inactive', 'activate:active', 'deactivate:inactive', 'cleanup:unconfigured', 'configure:inactive', 'activate:active', 'shutdown:finalized']);
    assert.equal(events.length, 14, 'each transition starts and ends');
  });

  it('deactivate cancels the plan in flight; one transition at a time', async () => {
    const { transport, node } = makeNode(30);
    await node.configure();
    await node.activate();
    transport.inject('/camera/image_raw', rgbFrame(1));
    const goal = transport.sendGoal('/emu/plan_task', { instruction: 'put the cube in the bowl' });
    await waitFor(() => of<BridgeStatusMsg>(transport, '/emu/status').some((s) => s.state_name === 'planning'));
    const deactivating = node.deactivate();
    assert.equal(node.transitioning, 'deactivate');
    assert.equal(node.canRun('cleanup'), false);
    await assert.rejects(node.cleanup(), /deactivate is in progress/);
    await deactivating;
    await assert.rejects(goal);
    assert.equal(node.pipeline!.status.counters.plans_cancelled, 1);
    await node.close();
    assert.equal(node.state, 'finalized');
  });

  it('a failed configure (no model) leaves it unconfigured, holding nothing; the next configure can succeed', async () => {
    const transport = new MemoryTransport();
    const node = new BridgeLifecycle(parseBridgeConfig({}), { transport });
    await assert.rejects(node.configure(), (e: unknown) => e instanceof ConfigError && /no model/.test((e as Error).message));
    assert.equal(node.state, 'unconfigured');
    assert.equal(node.backend, undefined);
    assert.equal(node.canRun('configure'), true);
    await node.close();
  });

  it('settings that apply at run time reach the running pipeline (re-plan policy)', async () => {
    const { node } = makeNode();
    await node.configure();
    await node.activate();
    node.update(withParameters(node.config, [{ spec: spec('replan.maxReplans'), value: 7 }]));
    assert.equal(node.config.replan.maxReplans, 7);
    await node.close();
  });
});

function spec(name: string) {
  const found = bridgeParameterSpecs().find((s) => s.name === name);
  assert.ok(found, name);
  return found;
}

describe('bridge ROS parameters (derived from the config schema)', () => {
  it('every leaf of topics, qos, model, planner, frames and replan, typed, with ranges, choices and an unset value for optional ones', () => {
    const specs = bridgeParameterSpecs();
    const names = specs.map((s) => s.name);
    assert.ok(names.includes('topics.image') && names.includes('qos.image') && names.includes('model.dir') && names.includes('planner.sampling.image.topK') && names.includes('replan.keyframeThreshold'));
    assert.equal(new Set(names).size, names.length);
    assert.deepEqual(spec('replan.maxReplans'), { name: 'replan.maxReplans', runtime: true, description: 're-plans allowed before giving up', kind: 'integer', range: { from: 0, to: Number.MAX_SAFE_INTEGER } });
    assert.deepEqual(spec('replan.keyframeThreshold').range, { from: 0, to: 1 });
    assert.equal(spec('replan.keyframeThreshold').kind, 'double');
    assert.deepEqual(spec('model.threads').range, { from: 1, to: Number.MAX_SAFE_INTEGER }, 'positive(): from 1');
    assert.deepEqual(spec('qos.image').choices, ['sensor_data', 'reliable', 'latched', 'latched_burst']);
    assert.equal(spec('topics.image').runtime, false);
    assert.equal(spec('model.dir').unset, '');
    assert.equal(spec('planner.seed').unset, -1);
    assert.deepEqual(spec('planner.grid'), { name: 'planner.grid', runtime: true, description: 'token grid [rows, cols] of predicted keyframes', kind: 'integer_array', unset: [] });
    assert.equal(spec('topics.feedback').unset, undefined, "'' is a value of its own (off)");
    for (const s of specs) assert.ok(s.description.length > 0);
    // ROS refuses a declaration without a value: every leaf has one in the default config.
    const defaults = parseBridgeConfig({});
    for (const s of specs) assert.notEqual(parameterValue(defaults, s), undefined, s.name);
    assert.deepEqual([spec('planner.sampling.image.parallel').choices, spec('planner.sampling.image.parallel').unset], [['none', 'jacobi', 'zipar'], '']);
    assert.equal(spec('planner.sampling.image.rowWindow').unset, -1, 'an optional integer is -1 when unset');
    const parallel = withParameters(defaults, [{ spec: spec('planner.sampling.image.parallel'), value: 'jacobi' }]);
    assert.equal(parallel.planner.sampling?.image?.parallel, 'jacobi');
    assert.equal(withParameters(parallel, [{ spec: spec('planner.sampling.image.parallel'), value: '' }]).planner.sampling?.image?.parallel, undefined);
  });

  it('values round-trip through the config; unset clears; invalid values are refused by the schema', () => {
    const config = parseBridgeConfig({ planner: { seed: 5 } });
    assert.equal(parameterValue(config, spec('planner.seed')), 5);
    assert.equal(parameterValue(config, spec('planner.sampling.maxNewTokens')), -1);
    assert.equal(parameterValue(config, spec('topics.image')), '/camera/image_raw');
    const next = withParameters(config, [
      { spec: spec('planner.seed'), value: -1 },
      { spec: spec('planner.sampling.maxNewTokens'), value: 64 },
      { spec: spec('planner.grid'), value: [4, 4] },
      { spec: spec('topics.image'), value: '/cam/color' },
    ]);
    assert.equal(next.planner.seed, undefined);
    assert.equal(next.planner.sampling?.maxNewTokens, 64);
    assert.deepEqual(next.planner.grid, [4, 4]);
    assert.equal(next.topics.image, '/cam/color');
    assert.throws(() => withParameters(config, [{ spec: spec('topics.image'), value: 'not a topic!' }]), /not a valid ROS topic name/);
    assert.throws(() => withParameters(config, [{ spec: spec('replan.keyframeThreshold'), value: 2 }]), ConfigError);
    assert.throws(() => withParameters(config, [{ spec: spec('qos.image'), value: 'fast' }]), ConfigError);
  });

  it('ChangeState requests name transitions by label (rcl_lifecycle labels) or lifecycle_msgs id', () => {
    assert.equal(transitionOf({ id: 0, label: 'configure' }), 'configure');
    assert.equal(transitionOf({ id: 0, label: 'inactive_shutdown' }), 'shutdown');
    assert.equal(transitionOf({ id: 3, label: '' }), 'activate');
    assert.equal(transitionOf({ id: 7, label: '' }), 'shutdown');
    assert.equal(transitionOf({ id: 42, label: '' }), undefined);
    assert.equal(transitionOf({ id: 0, label: 'explode' }), undefined);
  });
});

