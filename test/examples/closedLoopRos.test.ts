import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../../sdk/image/codec.ts';
import { rosEnv, testRosDomain } from '../support/rosEnv.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm start -- ARGS` as a user runs it: `tsx examples/mainJob.ts ARGS`, from the repository. */
function mainJob(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'examples/mainJob.ts'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // SIGINT: the main job stops its bridge child before it exits.
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** This process's environment without ROS: what a user's fresh shell has. */
function withoutRos(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ROS_DOMAIN_ID: testRosDomain() };
  delete env.AMENT_PREFIX_PATH;
  delete env.EMU_ROS_DOMAIN;
  delete env.EMU_MAIN_JOB_ROS_REEXEC;
  return env;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('main job: closed loop over real ROS 2 (npm start -- --transport ros)', function () {
  this.timeout(120_000);

  it('without a ROS environment, and not allowed to source one, fails with what to run (rclnodejs is never loaded)', async () => {
    const r = await mainJob(['--transport', 'ros', '--out', path.join(tmpdir(), 'never-written')], { ...withoutRos(), EMU_MAIN_JOB_ROS_REEXEC: '1' });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /ROS 2 is not usable here/);
    assert.match(r.stderr, /bash bridge\/ros\/setup\.sh/);
    assert.doesNotMatch(r.stderr, /rebuild|node-gyp/);
  });

  it('rejects an unknown transport', async () => {
    const r = await mainJob(['--transport', 'carrier-pigeon'], withoutRos());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--transport must be memory or ros/);
  });

  describe('with bridge/ros/setup.sh done', () => {
    before(function () {
      if (!rosEnv()) this.skip(); // bridge/ros/setup.sh has not run on this machine (.ci/run runs it)
    });

    it('completes the held-out long-horizon episode with emu-nano, the bridge a separate ROS node, from a shell without ROS (sources env.sh itself)', async () => {
      const out = mkdtempSync(path.join(tmpdir(), 'main-job-ros-'));
      try {
        const r = await mainJob(['--transport', 'ros', '--suite', 'long', '--split', 'heldout', '--seed', '1', '--out', out], withoutRos());
        const log = `${r.stdout}\n${r.stderr}`;
        assert.equal(r.code, 0, log);
        assert.match(r.stderr, /running again under `source bridge\/ros\/env\.sh`/);
        assert.match(r.stdout, /^SUCCESS: /m, log);

        const result = JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8'));
        assert.equal(result.transport, 'ros');
        assert.equal(result.success, true, log);
        assert.ok(result.plans >= 1, 'plans came in on the plan topic');
        assert.ok(result.steps.length >= 2, 'a multi-step chain');
        assert.ok(result.steps.every((s: { ok: boolean }) => s.ok), log);
        const agreements = result.steps.map((s: { layoutAgreement?: number }) => s.layoutAgreement ?? 0);
        assert.ok(Math.min(...agreements) >= 0.9, `keyframes agree with the frames reached: ${agreements}`);
        const [initial, final] = await Promise.all(['initial.png', 'final.png'].map((f) => decodeImage(readFileSync(path.join(out, f)))));
        assert.notDeepEqual(final!.data, initial!.data);

        // The bridge was its own process, served on our domain, and was stopped cleanly at the end.
        const pid = Number(/ros bridge \(pid (\d+)\): node 'emu_bridge' up/.exec(r.stderr)?.[1]);
        assert.ok(pid > 0, `the bridge child's stderr is passed through: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`bridge node up \\(pid ${pid}, ROS_DOMAIN_ID ${testRosDomain()}\\)`));
        assert.match(r.stderr, /ros: bridge node stopped \(exit code 0\)/, r.stderr);
        assert.equal(alive(pid), false, 'no bridge left running');
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  });
});
