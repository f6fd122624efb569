import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { BridgePipeline } from '../../bridge/pipeline/BridgePipeline.ts';
import { parseBridgeConfig } from '../../bridge/pipeline/BridgeConfig.ts';
import { RosTransport } from '../../bridge/transports/RosTransport.ts';
import type { PlanMsg, PlanTaskResult } from '../../bridge/messages/rosTypes.ts';
import { EmuVlaPlanner } from '../../planners/EmuVlaPlanner.ts';
import { ScriptedBackend, vlaEvents } from '../planners/ScriptedBackend.ts';
import { createFakeRclnodejs } from './FakeRclnodejs.ts';
import { recordingLogger, rgbFrame, steps, tick } from './pipelineHarness.ts';

async function setup(delayMs = 1) {
  const fake = createFakeRclnodejs();
  const transport = await RosTransport.create({ rclnodejs: fake.module, nodeName: 'emu', namespace: '/robot', cancelPollMs: 5 });
  const backend = new ScriptedBackend(() => vlaEvents(steps), delayMs);
  const pipeline = new BridgePipeline({ transport, planner: new EmuVlaPlanner(backend), config: parseBridgeConfig({ transport: 'ros' }), log: recordingLogger() });
  pipeline.start();
  return { fake, transport, backend, pipeline };
}

describe('RosTransport contract (against a recording FAKE of rclnodejs)', () => {
  it('creates the node, typed subscriptions and publishers with the right QoS', async () => {
    const { fake, transport, pipeline } = await setup();
    assert.deepEqual(fake.calls.slice(0, 3), ['init', 'Node(emu,/robot)', 'spin']);
    const sub = (topic: string) => fake.subscriptions.find((s) => s.topic === topic)!;
    assert.equal(sub('/camera/image_raw').type, 'sensor_msgs/msg/Image');
    assert.equal(sub('/camera/image_raw').qos, fake.FakeQoS.profileSensorData);
    assert.equal(sub('/emu/goal').type, 'std_msgs/msg/String');
    assert.deepEqual({ ...(sub('/emu/goal').qos as object) }, { history: 1, depth: 10, reliability: 1, durability: 2 });
    assert.deepEqual(fake.actionServers.map((a) => [a.type, a.name]), [['emu_robotics_msgs/action/PlanTask', '/emu/plan_task']]);

    sub('/camera/image_raw').deliver(rgbFrame(9));
    sub('/emu/goal').deliver({ data: 'stack' });
    await tick(1);
    await pipeline.whenIdle();
    const pub = (topic: string) => fake.publishers.find((p) => p.topic === topic)!;
    assert.equal(pub('/emu/plan').type, 'emu_robotics_msgs/msg/Plan');
    assert.deepEqual({ ...(pub('/emu/plan').qos as object) }, { history: 1, depth: 1, reliability: 1, durability: 1 }, 'plans: reliable + transient local');
    assert.equal(pub('/emu/subgoal').type, 'emu_robotics_msgs/msg/Subgoal');
    assert.equal(pub('/emu/status').type, 'emu_robotics_msgs/msg/BridgeStatus');
    const final = pub('/emu/plan').messages.at(-1) as PlanMsg;
    assert.equal(final.complete, true);
    assert.equal(final.header.stamp.sec, 9);
    assert.doesNotThrow(() => JSON.stringify(pub('/emu/status').messages), 'no BigInt in published messages');

    await pipeline.stop();
    await transport.close();
    assert.deepEqual(fake.calls.slice(-2), ['destroy', 'shutdown']);
    assert.ok(fake.actionServers.every((a) => a.destroyed));
    assert.ok(fake.subscriptions.every((s) => s.destroyed), 'pipeline.stop released every subscription');
  });

  it('serves PlanTask: accepts, streams feedback, succeeds with the plan', async () => {
    const { fake, pipeline } = await setup();
    fake.subscriptions.find((s) => s.topic === '/camera/image_raw')!.deliver(rgbFrame(4));
    const goal = fake.sendGoal('/emu/plan_task', { instruction: 'put the cube in the bowl' });
    assert.equal(goal.accepted, fake.module.GoalResponse.ACCEPT);
    const result = (await goal.result) as PlanTaskResult;
    assert.equal(goal.handle.state, 'succeeded');
    assert.equal(result.plan.complete, true);
    assert.deepEqual(result.plan.subgoals.map((s) => s.index), [0, 1]);
    assert.ok(goal.handle.feedback.length >= 3);
    assert.ok(goal.handle.feedback.every((f: any) => f.partial_plan && f.current_subgoal));
    await pipeline.stop();
  });

  it('cancels a running goal on request (ONNX work stops) and reports canceled', async () => {
    const { fake, backend, pipeline } = await setup(5);
    fake.subscriptions.find((s) => s.topic === '/camera/image_raw')!.deliver(rgbFrame(4));
    const goal = fake.sendGoal('/emu/plan_task', { instruction: 'stack' });
    await tick(12);
    assert.equal(goal.cancel(), fake.module.CancelResponse.ACCEPT);
    await goal.result;
    assert.equal(goal.handle.state, 'canceled');
    assert.equal(backend.stoppedEarly, 1);
    await pipeline.stop();
  });

  it('a goal without a frame aborts after the wait and the node keeps serving', async () => {
    const fake = createFakeRclnodejs();
    const transport = await RosTransport.create({ rclnodejs: fake.module });
    const pipeline = new BridgePipeline({ transport, planner: new EmuVlaPlanner(new ScriptedBackend(() => vlaEvents(steps))), config: parseBridgeConfig({ replan: { frameWaitMs: 10 } }), log: recordingLogger() });
    pipeline.start();
    const goal = fake.sendGoal('/emu/plan_task', { instruction: 'stack' });
    await goal.result;
    assert.equal(goal.handle.state, 'aborted');
    assert.equal(pipeline.status.counters.plans_failed, 1);
    await pipeline.stop();
  });

  it('rclnodejs is imported by RosTransport only', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name.startsWith('.')) continue;
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (name !== 'RosTransport.ts' && /\.(ts|mjs|js)$/.test(name) && /(from|import)\s*\(?\s*['"]rclnodejs['"]/.test(readFileSync(full, 'utf8'))) offenders.push(path.relative(root, full));
      }
    };
    for (const dir of ['sdk', 'planners', 'bridge', 'sim', 'bin', 'test']) walk(path.join(root, dir));
    assert.deepEqual(offenders, []);
    assert.match(readFileSync(path.join(root, 'bridge/transports/RosTransport.ts'), 'utf8'), /const moduleName = 'rclnodejs';[\s\S]*await import\(moduleName\)/);
  });
});
