// The robot side of `npm run bench:bridge -- --transport ros`: a 30 Hz camera (header.stamp = wall
// clock, so the bridge can measure one-way latency), a goal every few seconds, and the time from
// each goal to its first subgoal and its complete plan as this process sees them. Prints one JSON line.
'use strict';
const rclnodejs = require('rclnodejs');

const [seconds, width, height, goalEvery] = process.argv.slice(2).map(Number);
const { QoS } = rclnodejs;
const latched = new QoS(QoS.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, 32, QoS.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE, QoS.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL);

async function main() {
  await rclnodejs.init();
  const node = new rclnodejs.Node('bench_camera');
  const camera = node.createPublisher('sensor_msgs/msg/Image', '/camera/image_raw', { qos: QoS.profileSensorData });
  const goals = node.createPublisher('std_msgs/msg/String', '/emu/goal');
  const sent = new Map(); // goal text → publish time
  const firstSubgoal = [];
  const complete = [];
  const planGoal = new Map();
  // Subgoals and plans travel on two topics: a subgoal may arrive before the plan naming its goal.
  const firstSeen = new Map(); // plan id → arrival time of its first subgoal
  const settleFirst = (planId) => {
    const g = sent.get(planGoal.get(planId));
    if (g && g.first === undefined && firstSeen.has(planId)) g.first = firstSeen.get(planId) - g.at;
  };
  node.createSubscription('emu_robotics_msgs/msg/Subgoal', '/emu/subgoal', { qos: latched }, (s) => {
    if (!firstSeen.has(s.plan_id)) firstSeen.set(s.plan_id, performance.now());
    settleFirst(s.plan_id);
  });
  node.createSubscription('emu_robotics_msgs/msg/Plan', '/emu/plan', { qos: latched }, (p) => {
    planGoal.set(p.plan_id, p.goal);
    settleFirst(p.plan_id);
    const g = sent.get(p.goal);
    if (p.complete && g && !g.done) g.done = performance.now() - g.at;
  });
  node.spin();
  while (node.countSubscribers('/camera/image_raw') === 0) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  const frames = Math.round(seconds * 30);
  const started = performance.now();
  for (let i = 0; i < frames; i++) {
    const due = started + (i * 1000) / 30 - performance.now();
    if (due > 0) await new Promise((r) => setTimeout(r, due));
    const now = Date.now();
    camera.publish({ header: { stamp: { sec: Math.floor(now / 1000), nanosec: (now % 1000) * 1e6 }, frame_id: 'cam' }, height, width, encoding: 'rgb8', is_bigendian: 0, step: width * 3, data });
    if (i % Math.round(goalEvery * 30) === 15) {
      const text = `put the red block in the blue bowl #${i}`;
      sent.set(text, { at: performance.now() });
      goals.publish({ data: text });
    }
  }
  await new Promise((r) => setTimeout(r, 2000));
  for (const g of sent.values()) {
    if (g.first !== undefined) firstSubgoal.push(g.first);
    if (g.done !== undefined) complete.push(g.done);
  }
  console.log(JSON.stringify({ framesSent: frames, goals: sent.size, firstSubgoal, complete }));
  node.destroy();
  rclnodejs.shutdown();
  process.exit(0);
}
main();
