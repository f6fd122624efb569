// A robot controller as users write one, on real rclnodejs over DDS: publishes a 30 Hz camera and
// goals, subscribes to plans, subgoals and status, and drives the PlanTask action. Runs one
// scenario (argv[2]) and prints one JSON line with what it saw. Started by test/ros/rosBridge.test.ts
// with the environment of bridge/ros/env.sh (loopback-only DDS).
'use strict';
const rclnodejs = require('rclnodejs');

const scenario = process.argv[2];
const W = 64;
const H = 64;
const { QoS } = rclnodejs;
// Deep enough to keep a burst of subgoals (a depth of 1 would keep only the newest of a burst).
const latched = (depth = 1) => new QoS(QoS.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, depth, QoS.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE, QoS.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(pred, ms, what) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function frame(sec, value) {
  return { header: { stamp: { sec, nanosec: 0 }, frame_id: 'cam' }, height: H, width: W, encoding: 'rgb8', is_bigendian: 0, step: W * 3, data: new Uint8Array(W * H * 3).fill(value) };
}

async function main() {
  await rclnodejs.init();
  const node = new rclnodejs.Node(`robot_${scenario}`);
  // 'remap': the robot's own topic names; the bridge is remapped onto them with --ros-args.
  const remap = scenario === 'remap';
  const camera = node.createPublisher('sensor_msgs/msg/Image', remap ? '/cam/color' : '/camera/image_raw', { qos: QoS.profileSensorData });
  const goals = node.createPublisher('std_msgs/msg/String', remap ? '/robot/goal' : '/emu/goal');
  const statuses = [];
  node.createSubscription('emu_robotics_msgs/msg/BridgeStatus', '/emu/status', (m) => statuses.push(m));
  node.spin();
  let sec = 1000;
  // The 'noframe' scenario starts without a camera, and turns it on halfway.
  let cameraOn = scenario !== 'noframe';
  const cam = setInterval(() => cameraOn && camera.publish(frame(sec++, 100)), 33);
  const out = { scenario };
  try {
    // The bridge is up once its status topic answers (it publishes on every state change); a
    // managed bridge started unconfigured publishes nothing yet: its lifecycle services answer.
    if (scenario !== 'lifecycle') await until(() => node.countPublishers('/emu/status') > 0, 20_000, 'the bridge');
    if (scenario === 'lifecycle') {
      Object.assign(out, await lifecycleScenario(node, statuses, () => sec++));
    } else if (scenario === 'topics') {
      const plans = [];
      const subgoals = [];
      node.createSubscription('emu_robotics_msgs/msg/Plan', '/emu/plan', { qos: latched(50) }, (m) => plans.push(m));
      node.createSubscription('emu_robotics_msgs/msg/Subgoal', '/emu/subgoal', { qos: latched(50) }, (m) => subgoals.push(m));
      await sleep(500);
      goals.publish({ data: 'put the red block in the blue bowl' });
      await until(() => plans.some((p) => p.complete), 30_000, 'a complete plan');
      const plan = plans.find((p) => p.complete);
      out.plan = { goal: plan.goal, stampSec: plan.header.stamp.sec, subgoals: plan.subgoals.length, keyframes: plan.subgoals.filter((s) => s.has_keyframe).length, keyframeFormat: plan.subgoals.find((s) => s.has_keyframe)?.keyframe.format };
      // The plan message goes out before the subgoals that formed with it: give them a moment.
      const ofPlan = () => subgoals.filter((s) => s.plan_id === plan.plan_id).length;
      await until(() => ofPlan() >= plan.subgoals.length, 5_000, 'the plan\'s subgoals').catch(() => undefined);
      out.subgoalsPublished = ofPlan();
      out.subgoalIndices = subgoals.map((s) => [s.plan_id.slice(-4), s.index, s.status]);
      out.truncated = plan.truncated;
      out.framesSentBeforeGoal = [1000, sec];
      // A controller that joins late still gets the last plan (reliable + transient local).
      const late = new rclnodejs.Node('robot_late');
      const latePlans = [];
      late.createSubscription('emu_robotics_msgs/msg/Plan', '/emu/plan', { qos: latched() }, (m) => latePlans.push(m));
      late.spin();
      await until(() => latePlans.length > 0, 10_000, 'the latched plan');
      out.lateJoinerPlanId = latePlans[0].plan_id === plans.at(-1).plan_id;
      // Hostile input: the node keeps running and reports each on its status topic.
      goals.publish({ data: '' });
      camera.publish({ ...frame(sec++, 1), encoding: 'yuv422' });
      camera.publish({ ...frame(sec++, 1), step: 3 });
      // A frame over the bridge's pixel limit (the test runs it with maxPixels 100000: 640×480 is over) and a 100 KB goal.
      camera.publish({ header: { stamp: { sec: sec++, nanosec: 0 }, frame_id: 'cam' }, height: 480, width: 640, encoding: 'rgb8', is_bigendian: 0, step: 1920, data: new Uint8Array(640 * 480 * 3) });
      goals.publish({ data: 'x'.repeat(100_000) });
      await sleep(1500);
      const last = statuses.at(-1);
      out.status = { goals_rejected: last.goals_rejected, frames_rejected: last.frames_rejected, error_code: last.error_code };
      out.errors = [...new Set(statuses.map((m) => m.error_message.replace(/\d+/g, '#').slice(0, 90)).filter(Boolean))];
      goals.publish({ data: 'stack the green block on the red block' });
      const before = plans.filter((p) => p.complete).length;
      await until(() => plans.filter((p) => p.complete).length > before, 30_000, 'a plan after hostile input');
      out.plansAfterHostile = true;
    } else if (scenario === 'action') {
      const client = new rclnodejs.ActionClient(node, 'emu_robotics_msgs/action/PlanTask', '/emu/plan_task');
      await until(() => client.isActionServerAvailable(), 20_000, 'the action server');
      // 1. a goal with feedback, to the end
      const feedback = [];
      const handle = await client.sendGoal({ instruction: 'put the red block in the blue bowl' }, (f) => feedback.push(f));
      out.accepted = handle.isAccepted();
      const result = await handle.getResult();
      out.first = { status: handle.status, feedback: feedback.length, subgoals: result.plan.subgoals.length, complete: result.plan.complete };
      out.partialFeedback = feedback.some((f) => !f.partial_plan.complete && f.partial_plan.subgoals.length >= 1);
    } else if (scenario === 'remap') {
      const plans = [];
      node.createSubscription('emu_robotics_msgs/msg/Plan', '/emu/plan', { qos: latched(50) }, (m) => plans.push(m));
      await until(() => node.countSubscribers('/robot/goal') > 0 && node.countSubscribers('/cam/color') > 0, 20_000, 'the bridge on the remapped topics');
      await sleep(300);
      goals.publish({ data: 'put the red block in the blue bowl' });
      await until(() => plans.some((p) => p.complete), 30_000, 'a complete plan');
      out.plan = { goal: plans.find((p) => p.complete).goal, stampSec: plans.find((p) => p.complete).header.stamp.sec };
      out.defaultTopicSubscribers = node.countSubscribers('/camera/image_raw');
    } else if (scenario === 'noframe') {
      const client = new rclnodejs.ActionClient(node, 'emu_robotics_msgs/action/PlanTask', '/emu/plan_task');
      await until(() => client.isActionServerAvailable(), 20_000, 'the action server');
      const h1 = await client.sendGoal({ instruction: 'put the red block in the blue bowl' });
      await h1.getResult();
      out.withoutCamera = h1.status;
      cameraOn = true;
      await sleep(300);
      const h2 = await client.sendGoal({ instruction: 'put the red block in the blue bowl' });
      const r2 = await h2.getResult();
      out.withCamera = { status: h2.status, subgoals: r2.plan.subgoals.length };
      const last = statuses.at(-1);
      out.lastStatus = { plans_failed: last.plans_failed, plans_completed: last.plans_completed };
    } else if (scenario === 'preempt') {
      // Followed plans (feedback topic configured) stay active: a second goal pre-empts the first.
      const client = new rclnodejs.ActionClient(node, 'emu_robotics_msgs/action/PlanTask', '/emu/plan_task');
      await until(() => client.isActionServerAvailable(), 20_000, 'the action server');
      const fb1 = [];
      const h1 = await client.sendGoal({ instruction: 'put the red block in the blue bowl' }, (f) => fb1.push(f));
      await until(() => fb1.length > 0, 30_000, 'feedback on the first goal');
      const fb2 = [];
      const h2 = await client.sendGoal({ instruction: 'stack the green block on the red block' }, (f) => fb2.push(f));
      const r1 = await h1.getResult();
      await until(() => fb2.length > 0, 30_000, 'feedback on the second goal');
      out.first = { status: h1.status, planComplete: r1.plan.complete };
      out.secondGoal = fb2.at(-1).partial_plan.goal;
      await h2.cancelGoal();
      await h2.getResult();
      out.second = h2.status;
    } else if (scenario === 'cancel') {
      // The bridge follows plans (a feedback topic is configured): a goal stays active until the
      // controller reports, so a cancel lands mid-plan every time.
      const client = new rclnodejs.ActionClient(node, 'emu_robotics_msgs/action/PlanTask', '/emu/plan_task');
      await until(() => client.isActionServerAvailable(), 20_000, 'the action server');
      out.rounds = [];
      for (let round = 0; round < 2; round++) {
        const fb = [];
        const h = await client.sendGoal({ instruction: round ? 'stack the green block on the red block' : 'put the red block in the blue bowl' }, (f) => fb.push(f));
        await until(() => fb.length > 0, 30_000, 'feedback before cancelling');
        const cancel = await h.cancelGoal();
        await h.getResult();
        out.rounds.push({ accepted: h.isAccepted(), feedback: fb.length, cancelAccepted: cancel.goals_canceling.length === 1, status: h.status });
      }
    }
    out.ok = true;
  } catch (err) {
    out.ok = false;
    out.error = String(err && err.stack ? err.stack : err);
  } finally {
    clearInterval(cam);
    console.log(JSON.stringify(out));
    node.destroy();
    rclnodejs.shutdown();
    process.exit(0);
  }
}

// A managed bridge (started with --no-autostart -p replan.maxReplans:=5), driven as
// `ros2 lifecycle` / `ros2 param` do it: through its services.
async function lifecycleScenario(node, statuses, nextSec) {
  const out = {};
  const service = (type, name) => node.createClient(type, `/emu_bridge/${name}`);
  const changeState = service('lifecycle_msgs/srv/ChangeState', 'change_state');
  const getState = service('lifecycle_msgs/srv/GetState', 'get_state');
  const getTransitions = service('lifecycle_msgs/srv/GetAvailableTransitions', 'get_available_transitions');
  const setParams = service('rcl_interfaces/srv/SetParameters', 'set_parameters');
  const getParams = service('rcl_interfaces/srv/GetParameters', 'get_parameters');
  const describe = service('rcl_interfaces/srv/DescribeParameters', 'describe_parameters');
  const events = [];
  node.createSubscription('lifecycle_msgs/msg/TransitionEvent', '/emu_bridge/transition_event', (m) => events.push(`${m.start_state.label}>${m.goal_state.label}`));
  if (!(await changeState.waitForService(20_000))) throw new Error('no lifecycle services');
  const call = (client, request) => client.sendRequestAsync(request, { timeout: 30_000 });
  const state = async () => (await call(getState, {})).current_state.label;
  const transition = async (label) => (await call(changeState, { transition: { id: 0, label } })).success;
  const set = async (name, value) => {
    const v = typeof value === 'string' ? { type: 4, string_value: value } : Number.isInteger(value) ? { type: 2, integer_value: BigInt(value) } : { type: 3, double_value: value };
    const [r] = (await call(setParams, { parameters: [{ name, value: v }] })).results;
    return r.successful ? true : r.reason;
  };
  const ActionClient = rclnodejs.ActionClient;
  const plan = async (instruction) => {
    const client = new ActionClient(node, 'emu_robotics_msgs/action/PlanTask', '/emu/plan_task');
    await until(() => client.isActionServerAvailable(), 20_000, 'the action server');
    const h = await client.sendGoal({ instruction });
    if (!h.isAccepted()) return { accepted: false };
    const result = await h.getResult();
    return { accepted: true, status: h.status, subgoals: result.plan.subgoals.length, stampSec: result.plan.header.stamp.sec };
  };

  out.initial = await state();
  const values = (await call(getParams, { names: ['replan.maxReplans', 'topics.image', 'planner.seed'] })).values;
  out.params = [Number(values[0].integer_value), values[1].string_value, Number(values[2].integer_value)];
  const [d] = (await call(describe, { names: ['replan.keyframeThreshold'] })).descriptors;
  out.keyframeThresholdRange = [d.floating_point_range[0]?.from_value, d.floating_point_range[0]?.to_value];
  out.description = d.description;
  out.refusedWhileUnconfigured = await transition('activate');
  out.setImageTopicUnconfigured = await set('topics.image', '/cam/lifecycle');
  out.configured = await transition('configure');
  out.afterConfigure = await state();
  out.transitions = (await call(getTransitions, {})).available_transitions.map((t) => t.transition.label).sort();
  out.goalWhileInactive = await plan('put the red block in the blue bowl');
  await sleep(300);
  out.inactiveStatus = { state: statuses.at(-1)?.state_name, error: statuses.at(-1)?.error_message, goals_rejected: statuses.at(-1)?.goals_rejected };
  out.setImageTopicInactive = await set('topics.image', '/camera/image_raw');
  out.activated = await transition('activate');
  out.afterActivate = await state();
  const camera = node.createPublisher('sensor_msgs/msg/Image', '/cam/lifecycle', { qos: rclnodejs.QoS.profileSensorData });
  const cam = setInterval(() => camera.publish(frame(nextSec() + 5000, 90)), 33);
  try {
    out.subscribersOnNewTopic = await until(() => node.countSubscribers('/cam/lifecycle') > 0, 10_000, 'the bridge on the new camera topic').then(() => node.countSubscribers('/cam/lifecycle'));
    await sleep(300);
    out.goalWhileActive = await plan('put the red block in the blue bowl');
    out.setMaxReplansActive = await set('replan.maxReplans', 2);
    out.setThresholdOutOfRange = await set('replan.keyframeThreshold', 2.5);
    out.setBadSeedType = await set('planner.seed', 'seven');
    out.maxReplansNow = Number((await call(getParams, { names: ['replan.maxReplans'] })).values[0].integer_value);
    out.deactivated = await transition('deactivate');
    out.cleanedUp = await transition('cleanup');
    out.afterCleanup = await state();
    out.shutdown = await transition('shutdown');
  } finally {
    clearInterval(cam);
  }
  await sleep(300);
  out.events = events;
  return out;
}

main();
