import assert from 'node:assert/strict';
import { z } from 'zod';
import { ownDefinition, ROS_FIELDS, completeDefinition } from '../../bridge/messages/rosSchemas.ts';
import { CompressedImageMsgSchema, HeaderSchema, ImageMsgSchema, StringMsgSchema, SUBGOAL_STATUS_CODES, TimeSchema } from '../../bridge/messages/rosTypes.ts';
import { planToRos } from '../../bridge/messages/planToRos.ts';
import { PlanSchema, SUBGOAL_STATUSES } from '../../planners/Plan.ts';

describe('ROS message definitions (one field table per type)', () => {
  const inputs = [
    ['builtin_interfaces/msg/Time', TimeSchema],
    ['std_msgs/msg/Header', HeaderSchema],
    ['std_msgs/msg/String', StringMsgSchema],
    ['sensor_msgs/msg/Image', ImageMsgSchema],
    ['sensor_msgs/msg/CompressedImage', CompressedImageMsgSchema],
  ] as const;
  for (const [type, schema] of inputs) {
    it(`the input schema of ${type} has exactly the table's fields, in order`, () => {
      assert.deepEqual(Object.keys((schema as z.ZodObject).shape), ROS_FIELDS[type].map(([, name]) => name));
    });
  }

  it('the Subgoal status constants are the plan schema statuses in wire order', () => {
    assert.deepEqual(SUBGOAL_STATUSES.map((s) => SUBGOAL_STATUS_CODES[s]), [0, 1, 2, 3]);
    assert.match(ownDefinition('emu_robotics_msgs/msg/Subgoal'), /^uint8 STATUS_PENDING=0\nuint8 STATUS_ACTIVE=1\nuint8 STATUS_DONE=2\nuint8 STATUS_FAILED=3\nstring plan_id/);
  });

  it('a complete definition lists each dependency once, after its user', () => {
    const text = completeDefinition('emu_robotics_msgs/msg/Plan');
    const deps = [...text.matchAll(/^MSG: (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(deps, ['std_msgs/Header', 'builtin_interfaces/Time', 'emu_robotics_msgs/Subgoal', 'sensor_msgs/CompressedImage']);
  });

  it('planToRos fills every Plan field of the table from a schema-valid plan', () => {
    const plan = PlanSchema.parse({
      planId: 'p', goal: 'g', planner: 'x', source: { stamp: { sec: 1, nanosec: 2 }, frameId: 'cam', width: 4, height: 3 },
      subgoals: [{ index: 0, instruction: 'a', status: 'active', keyframe: { width: 1, height: 1, encoding: 'png', data: 'AAAA' } }],
      complete: true, truncated: false, timing: { startedAtMs: 0, elapsedMs: 5 },
    });
    const msg = planToRos(plan);
    assert.deepEqual(Object.keys(msg).sort(), ROS_FIELDS['emu_robotics_msgs/msg/Plan'].map(([, n]) => n).sort());
    assert.deepEqual(Object.keys(msg.subgoals[0]!).sort(), ROS_FIELDS['emu_robotics_msgs/msg/Subgoal'].map(([, n]) => n).sort());
    assert.equal(msg.subgoals[0]!.status, 1);
    assert.equal(msg.first_subgoal_ms, -1);
  });
});
