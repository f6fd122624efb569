import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The environment `source bridge/ros/env.sh` gives a shell, or undefined when bridge/ros/setup.sh
 * has not run here. rclnodejs links against the tree's libraries at process start, so every ROS
 * party runs in its own process with this environment (as a user's shell would).
 */
function rosEnv(): NodeJS.ProcessEnv | undefined {
  if (!existsSync(path.join(root, '.ros', 'tree')) || !existsSync(path.join(root, 'node_modules/rclnodejs/build/Release/rclnodejs.node'))) return undefined;
  const dump = execFileSync('bash', ['-c', 'source bridge/ros/env.sh >/dev/null && env -0'], { cwd: root, encoding: 'utf8' });
  const env: NodeJS.ProcessEnv = {};
  for (const kv of dump.split('\0')) {
    const at = kv.indexOf('=');
    if (at > 0) env[kv.slice(0, at)] = kv.slice(at + 1);
  }
  // A domain of its own per run: parallel runs on one machine never see each other.
  env.ROS_DOMAIN_ID = String(100 + (process.pid % 100));
  return env;
}

interface Bridge {
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<number | null>;
}

function startBridge(env: NodeJS.ProcessEnv, args: string[] = []): Bridge {
  const child = spawn(process.execPath, [path.join(root, 'bin/emu.js'), 'bridge', '--transport', 'ros', '--model', path.join(root, 'models/emu-nano'), '--threads', '1', ...args], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}

function robot(env: NodeJS.ProcessEnv, scenario: string): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'test/ros/robot.cjs'), scenario], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', () => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`robot ${scenario} printed no result: ${out}\n${err}`));
      }
    });
  });
}

describe('the bridge on real ROS 2 (rclnodejs over Cyclone DDS, loopback only)', function () {
  this.timeout(120_000);
  const env = rosEnv();
  before(function () {
    if (!env) this.skip(); // bridge/ros/setup.sh has not run on this machine (.ci/run runs it)
  });

  it('a controller publishing a 30 Hz camera and a goal gets plans with subgoals and keyframes; late joiners get the last plan; hostile input is reported, the node keeps planning', async () => {
    let exitCode: number | null = null;
    const bridge = startBridge(env!, ['--config', path.join(root, 'test/ros/smallFrameLimit.yaml')]);
    try {
      const r = await robot(env!, 'topics');
      assert.equal(r.ok, true, `${r.error}\n${bridge.stderr()}`);
      assert.equal(r.plan.goal, 'put the red block in the blue bowl');
      assert.ok(r.plan.subgoals >= 1 && r.plan.keyframes >= 1, JSON.stringify(r.plan));
      assert.equal(r.plan.keyframeFormat, 'png');
      assert.ok(r.plan.stampSec >= r.framesSentBeforeGoal[0] && r.plan.stampSec <= r.framesSentBeforeGoal[1], 'stamped from a camera frame the robot sent');
      assert.equal(r.subgoalsPublished, r.plan.subgoals, JSON.stringify([r.subgoalIndices, r.truncated]));
      assert.equal(r.lateJoinerPlanId, true);
      assert.ok(r.status.goals_rejected >= 2 && r.status.frames_rejected >= 3, JSON.stringify(r.status));
      for (const reason of [/goal is empty/, /unsupported image encoding 'yuv#'/, /step # is shorter/, /exceeds the # px limit/, /goal .*too long|goal .*exceeds|characters/]) {
        assert.ok(r.errors.some((e: string) => reason.test(e)), `status reported ${reason}: ${JSON.stringify(r.errors)}`);
      }
      assert.equal(r.plansAfterHostile, true);
    } finally {
      exitCode = await bridge.stop();
    }
    assert.equal(exitCode, 0, bridge.stderr());
    assert.doesNotMatch(bridge.stderr(), /unhandled|invalid transition/i);
  });

  it('PlanTask: accepted, feedback with the partial plan, SUCCEEDED with the plan', async () => {
    let exitCode: number | null = null;
    const bridge = startBridge(env!);
    try {
      const r = await robot(env!, 'action');
      assert.equal(r.ok, true, `${r.error}\n${bridge.stderr()}`);
      assert.equal(r.accepted, true);
      assert.equal(r.first.status, 4, 'SUCCEEDED');
      assert.ok(r.first.feedback >= 1 && r.first.subgoals >= 1 && r.first.complete, JSON.stringify(r.first));
      assert.equal(r.partialFeedback, true, 'feedback carries the plan as it grows');
    } finally {
      exitCode = await bridge.stop();
    }
    assert.equal(exitCode, 0, bridge.stderr());
  });

  it('PlanTask with a followed plan: cancel mid-plan ends CANCELED (it used to crash the node), twice in a row', async () => {
    let exitCode: number | null = null;
    const bridge = startBridge(env!, ['--config', path.join(root, 'test/ros/feedback.yaml')]);
    try {
      const r = await robot(env!, 'cancel');
      assert.equal(r.ok, true, `${r.error}\n${bridge.stderr()}`);
      for (const round of r.rounds) assert.deepEqual({ ...round, feedback: round.feedback > 0 }, { accepted: true, feedback: true, cancelAccepted: true, status: 5 });
      assert.equal(bridge.child.exitCode, null, 'the node is still running');
    } finally {
      exitCode = await bridge.stop();
    }
    assert.equal(exitCode, 0, bridge.stderr());
    assert.doesNotMatch(bridge.stderr(), /unhandled|invalid transition/i);
  });

  it('PlanTask pre-emption: a new goal ends the one in flight (ABORTED, empty plan) and is planned', async () => {
    let exitCode: number | null = null;
    const bridge = startBridge(env!, ['--config', path.join(root, 'test/ros/feedback.yaml')]);
    try {
      const r = await robot(env!, 'preempt');
      assert.equal(r.ok, true, `${r.error}\n${bridge.stderr()}`);
      assert.deepEqual(r.first, { status: 6, planComplete: false }, 'ABORTED with an empty plan');
      assert.equal(r.secondGoal, 'stack the green block on the red block');
      assert.equal(r.second, 5);
    } finally {
      exitCode = await bridge.stop();
    }
    assert.equal(exitCode, 0, bridge.stderr());
  });

  it('a goal with no camera frame aborts after the frame wait, reported; the node serves the next one', async () => {
    let exitCode: number | null = null;
    const bridge = startBridge(env!, ['--config', path.join(root, 'test/ros/shortFrameWait.yaml')]);
    try {
      const r = await robot(env!, 'noframe');
      assert.equal(r.ok, true, `${r.error}\n${bridge.stderr()}`);
      assert.equal(r.withoutCamera, 6, 'ABORTED');
      assert.equal(r.withCamera.status, 4, 'SUCCEEDED');
      assert.ok(r.withCamera.subgoals >= 1);
      assert.deepEqual(r.lastStatus, { plans_failed: 1, plans_completed: 1 });
    } finally {
      exitCode = await bridge.stop();
    }
    assert.equal(exitCode, 0, bridge.stderr());
    assert.match(bridge.stderr(), /\[timeout\].*no camera frame within 800 ms/);
  });

  it('--ros-args remaps the bridge onto a robot\'s own topic names (rcl\'s own argument handling)', async () => {
    let exitCode: number | null = null;
    const bridge = startBridge(env!, ['--ros-args', '-r', '/camera/image_raw:=/cam/color', '-r', '/emu/goal:=/robot/goal']);
    try {
      const r = await robot(env!, 'remap');
      assert.equal(r.ok, true, `${r.error}\n${bridge.stderr()}`);
      assert.equal(r.plan.goal, 'put the red block in the blue bowl');
      assert.ok(r.plan.stampSec >= 1000, 'planned from the remapped camera');
      assert.equal(r.defaultTopicSubscribers, 0, 'nothing listens on the default name any more');
    } finally {
      exitCode = await bridge.stop();
    }
    assert.equal(exitCode, 0, bridge.stderr());
  });
});

describe('rclnodejs stays behind the ROS transport', () => {
  it('is loaded (not type-imported) by RosTransport only, lazily (and by the standalone ROS client processes of the tests and bench)', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name.startsWith('.')) continue;
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (!['RosTransport.ts', 'robot.cjs', 'rosCamera.cjs'].includes(name) && /\.(ts|mjs|js|cjs)$/.test(name)) {
          const text = readFileSync(full, 'utf8').replace(/import type [^;]*;/g, '');
          if (/(from|import|require)\s*\(?\s*['"]rclnodejs['"]/.test(text)) offenders.push(path.relative(root, full));
        }
      }
    };
    for (const dir of ['sdk', 'planners', 'bridge', 'sim', 'bin', 'test', 'examples']) walk(path.join(root, dir));
    assert.deepEqual(offenders, []);
    assert.match(readFileSync(path.join(root, 'bridge/transports/RosTransport.ts'), 'utf8'), /const moduleName = 'rclnodejs';[\s\S]*await import\(moduleName\)/);
  });
});

describe('emu bridge --ros-args', () => {
  it('splits a ROS command line: rcl gets what follows --ros-args (up to --); a params file is also our config', async () => {
    const { splitRosArgs } = await import('../../bin/cli/bridgeCommand.ts');
    assert.deepEqual(splitRosArgs(['--transport', 'ros', '--ros-args', '-r', 'a:=b', '--params-file', 'p.yaml', '--', '--seed', '3']), {
      ours: ['--transport', 'ros', '--seed', '3', '--config', 'p.yaml'],
      rosArgs: ['-r', 'a:=b', '--params-file', 'p.yaml'],
    });
    assert.deepEqual(splitRosArgs(['--transport', 'ros']), { ours: ['--transport', 'ros'], rosArgs: [] });
  });
});
