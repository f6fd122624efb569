import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadBridgeConfigFile, mergeConfig, parseBridgeConfig } from '../../bridge/pipeline/BridgeConfig.ts';
import { ownDefinition, type RosTypeName } from '../../bridge/messages/rosSchemas.ts';

const root = path.resolve(import.meta.dirname, '../..');

describe('BridgeConfig', () => {
  it('fills defaults and rejects unknown keys and bad values with a path', () => {
    const c = parseBridgeConfig({});
    assert.equal(c.topics.image, '/camera/image_raw');
    assert.equal(c.qos.image, 'sensor_data');
    assert.equal(c.qos.plan, 'latched');
    assert.throws(() => parseBridgeConfig({ topics: { image: 'bad topic!' } }), /topics\.image: not a valid ROS topic name/);
    assert.throws(() => parseBridgeConfig({ colour: 'red' }), /Unrecognized key/i);
    assert.throws(() => parseBridgeConfig({ replan: { keyframeThreshold: 2 } }), /replan\.keyframeThreshold/);
  });

  it('reads the example ROS parameter file and lets flags win', async () => {
    const file = await loadBridgeConfigFile(path.join(root, 'bridge/ros/params.example.yaml'));
    const c = parseBridgeConfig(mergeConfig(file, { transport: 'mcap', model: { threads: 2, dir: undefined }, planner: { sampling: { maxNewTokens: 16 } } }));
    assert.equal(c.transport, 'mcap');
    assert.equal(c.model.threads, 2);
    assert.equal(c.model.device, 'cpu');
    assert.equal(c.planner.sampling?.maxNewTokens, 16);
    assert.equal(c.planner.maxGoalChars, 2000);
  });

  it('reports unreadable or non-mapping YAML clearly', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'emu-cfg-'));
    try {
      writeFileSync(path.join(dir, 'list.yaml'), '- a\n- b\n');
      writeFileSync(path.join(dir, 'bad.yaml'), 'a: [1,\n');
      await assert.rejects(loadBridgeConfigFile(path.join(dir, 'list.yaml')), /must be a YAML mapping/);
      await assert.rejects(loadBridgeConfigFile(path.join(dir, 'bad.yaml')), /cannot read config/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('emu_robotics_msgs package', () => {
  const strip = (text: string) => text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')).join('\n');
  for (const [file, type] of [['msg/Plan.msg', 'emu_robotics_msgs/msg/Plan'], ['msg/Subgoal.msg', 'emu_robotics_msgs/msg/Subgoal'], ['msg/BridgeStatus.msg', 'emu_robotics_msgs/msg/BridgeStatus']] as const) {
    it(`${file} matches the schema the bridge writes to bags`, () => {
      const text = readFileSync(path.join(root, 'bridge/ros/emu_robotics_msgs', file), 'utf8');
      assert.equal(strip(text), ownDefinition(type as RosTypeName));
    });
  }

  it('CMakeLists generates every interface file', () => {
    const cmake = readFileSync(path.join(root, 'bridge/ros/emu_robotics_msgs/CMakeLists.txt'), 'utf8');
    for (const f of ['msg/Subgoal.msg', 'msg/Plan.msg', 'msg/BridgeStatus.msg', 'action/PlanTask.action']) assert.ok(cmake.includes(`"${f}"`), f);
  });
});
