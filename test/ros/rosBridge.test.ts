import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { rosEnv } from '../support/rosEnv.ts';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Bridge {
  child: ChildProcess;
  stderr: () => string;
  /** The exit code once it exits by itself, or 'still running' after `ms`. */
  exit(ms: number): Promise<number | null | 'still running'>;
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
    exit: (ms) => Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))]),
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

  it('without the ROS environment, `emu bridge --transport ros` says what to do, and leaves the rclnodejs build alone', () => {
    const addon = path.join(root, 'node_modules/rclnodejs/build/Release/rclnodejs.node');
    const bare = { PATH: process.env.PATH, HOME: process.env.HOME };
    const run = spawnSync(process.execPath, [path.join(root, 'bin/emu.js'), 'bridge', '--transport', 'ros', '--model', path.join(root, 'models/emu-nano')], { cwd: root, env: bare, encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /ROS 2 is not usable here: no ROS 2 environment[\s\S]*source bridge\/ros\/env\.sh/);
    assert.ok(existsSync(addon), 'rclnodejs did not rebuild itself (node-gyp clean deletes the build)');
  });

  it('a managed node: lifecycle transitions over its services, goals rejected while inactive, parameters with descriptors, -p overrides, run-time changes where safe, shutdown ends the process', async () => {
    const bridge = startBridge(env!, ['--no-autostart', '--ros-args', '-p', 'replan.maxReplans:=5']);
    let r: Record<string, any>;
    try {
      r = await robot(env!, 'lifecycle');
    } catch (err) {
      await bridge.stop();
      throw err;
    }
    const exitCode = await bridge.exit(10_000);
    await bridge.stop();
    assert.equal(r.ok, true, `${r.error}\n${bridge.stderr()}`);
    assert.equal(r.initial, 'unconfigured', 'started with --no-autostart');
    assert.deepEqual(r.params, [5, '/camera/image_raw', -1], '-p override applied; an unset seed reads -1');
    assert.deepEqual(r.keyframeThresholdRange, [0, 1]);
    assert.match(r.description, /keyframe/);
    assert.equal(r.refusedWhileUnconfigured, false, 'activate from unconfigured is refused');
    assert.equal(r.setImageTopicUnconfigured, true);
    assert.equal(r.configured, true);
    assert.equal(r.afterConfigure, 'inactive');
    assert.deepEqual(r.transitions, ['activate', 'cleanup', 'shutdown']);
    assert.deepEqual(r.goalWhileInactive, { accepted: false }, 'PlanTask goal rejected while inactive');
    assert.equal(r.inactiveStatus.state, 'inactive');
    assert.match(r.inactiveStatus.error, /inactive \(activate it first\)/);
    assert.ok(r.inactiveStatus.goals_rejected >= 1);
    assert.match(String(r.setImageTopicInactive), /read when the node is configured: deactivate and clean up/);
    assert.equal(r.activated, true);
    assert.equal(r.afterActivate, 'active');
    assert.ok(r.subscribersOnNewTopic >= 1, 'listens on the topic set while unconfigured');
    assert.equal(r.goalWhileActive.accepted, true);
    assert.equal(r.goalWhileActive.status, 4, 'SUCCEEDED');
    assert.ok(r.goalWhileActive.subgoals >= 1);
    assert.ok(r.goalWhileActive.stampSec >= 5000, 'planned from the new camera topic');
    assert.equal(r.setMaxReplansActive, true, 'the re-plan policy changes at run time');
    assert.equal(r.maxReplansNow, 2);
    assert.match(String(r.setThresholdOutOfRange), /replan\.keyframeThreshold.*1/, 'out of its range, and says so');
    assert.notEqual(r.setBadSeedType, true, 'wrong type');
    assert.equal(r.deactivated, true);
    assert.equal(r.cleanedUp, true);
    assert.equal(r.afterCleanup, 'unconfigured');
    assert.equal(r.shutdown, true);
    for (const e of ['unconfigured>configuring', 'configuring>inactive', 'inactive>activating', 'activating>active', 'active>deactivating', 'inactive>cleaningup', 'unconfigured>shuttingdown', 'shuttingdown>finalized'])
      assert.ok(r.events.includes(e), `transition event ${e} in ${r.events}`);
    assert.equal(exitCode, 0, `shutdown over ROS ends the process: ${bridge.stderr()}`);
    assert.match(bridge.stderr(), /parameters: replan\.maxReplans=2/);
  });
});

describe('rclnodejs stays behind the ROS transport', () => {
  it('is loaded by one loader only, lazily and after checking the ROS environment (and by the standalone ROS client processes of the tests and bench)', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name.startsWith('.')) continue;
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (!['robot.cjs', 'rosCamera.cjs'].includes(name) && /\.(ts|mjs|js|cjs)$/.test(name)) {
          const text = readFileSync(full, 'utf8').replace(/import type [^;]*;/g, '');
          if (/(from|import|require)\s*\(?\s*['"]rclnodejs['"]/.test(text)) offenders.push(path.relative(root, full));
        }
      }
    };
    for (const dir of ['sdk', 'planners', 'bridge', 'sim', 'bin', 'test', 'examples']) walk(path.join(root, dir));
    assert.deepEqual(offenders, []);
    // One loader, lazy, and only after the environment check: an unchecked load that cannot link
    // makes rclnodejs rebuild itself, deleting its build.
    const loader = readFileSync(path.join(root, 'bridge/transports/loadRclnodejs.ts'), 'utf8');
    assert.match(loader, /rosEnvironment\(\);\s*if \(!env\.ready\) throw[\s\S]*require\(addon\)[\s\S]*const moduleName = 'rclnodejs';[\s\S]*await import\(moduleName\)/);
    const dynamicImports = (dir: string): string[] =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.ts$/.test(f) && /const moduleName = 'rclnodejs'/.test(readFileSync(path.join(dir, f), 'utf8'))).map((f) => path.join(path.relative(root, dir), f));
    assert.deepEqual([...dynamicImports(path.join(root, 'bridge')), ...dynamicImports(path.join(root, 'examples'))], ['bridge/transports/loadRclnodejs.ts']);
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
