/**
 * `npm start`: the main job. The simulator publishes camera frames and a goal through the bridge;
 * emu-nano plans subgoals with keyframes; the simulator's controller executes them and reports
 * back; an HTML report shows each predicted keyframe beside the frame actually reached. With
 * `--transport memory` (default) the bridge pipeline runs in this process; with `--transport ros`
 * it runs as its own ROS 2 node (`emu bridge --transport ros`) and the robot talks to it over real
 * topics and the PlanTask action (needs `bash bridge/ros/setup.sh` once; the ROS environment of
 * bridge/ros/env.sh is sourced for you when it is not there).
 *
 *   npm start -- [--transport memory|ros] [--model DIR] [--suite spatial|object|goal|long] [--split heldout|train] [--seed N] [--out DIR]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { CLOSED_LOOP_TRANSPORTS, type ClosedLoopTransport, runClosedLoop } from './closedLoop.ts';
import { writeClosedLoopReport } from './closedLoopReport.ts';
import type { SuiteName } from '../sim/tasks/suites.ts';
import type { Split } from '../sim/tasks/generateScene.ts';

const { values } = parseArgs({
  options: {
    transport: { type: 'string', default: 'memory' },
    model: { type: 'string' },
    suite: { type: 'string', default: 'long' },
    split: { type: 'string', default: 'heldout' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'out/main-job' },
  },
});
const transport = values.transport as ClosedLoopTransport;
if (!CLOSED_LOOP_TRANSPORTS.includes(transport)) {
  console.error(`--transport must be memory or ros (got '${values.transport}')`);
  process.exit(2);
}

if (transport === 'ros') {
  // rclnodejs links against the ROS tree at process start: without its environment, run again under it.
  const { rosEnvironment, rosSetupHint, ROS_ENV_SCRIPT } = await import('../bridge/transports/loadRclnodejs.ts');
  const env = rosEnvironment();
  if (!env.ready) {
    if (!env.canSource || process.env.EMU_MAIN_JOB_ROS_REEXEC) {
      console.error(`emu-robotics main job: ${rosSetupHint(env.reason)}`);
      process.exit(3);
    }
    console.error(`emu-robotics main job: ${env.reason}; running again under \`source bridge/ros/env.sh\``);
    process.exit(await reexecUnder(ROS_ENV_SCRIPT));
  }
}

const log = { info: (l: string) => console.error(`[bridge] ${l}`), warn: (l: string) => console.error(`[bridge] warning: ${l}`) };
console.error(`emu-robotics main job: closed-loop VLA planning (${values.suite}/${values.split} seed ${values.seed}, ${transport} transport)`);
const result = await runClosedLoop({
  transport,
  ...(values.model ? { modelDir: values.model } : {}),
  suite: values.suite as SuiteName,
  split: values.split as Split,
  seed: Number(values.seed),
  log,
}).catch((err: Error) => {
  console.error(`emu-robotics main job: ${err.message}`);
  process.exit(1);
});
console.error(`goal: ${result.episode.goal}`);
for (const s of result.steps) {
  const agree = s.layoutAgreement === undefined ? '' : ` (keyframe layout agreement ${(s.layoutAgreement * 100).toFixed(0)}%)`;
  const shown = s.instruction.length > 80 ? `${s.instruction.slice(0, 77)}...` : s.instruction;
  console.error(`  ${s.ok ? '✓' : '✗'} ${shown}${s.ok ? '' : ` — ${s.reason?.split(':')[0]}`}${agree}`);
}
if (result.error) console.error(`error: ${result.error}`);
const report = await writeClosedLoopReport(result, values.out!);
console.log(`${result.success ? 'SUCCESS' : 'FAILED'}: ${result.steps.filter((s) => s.ok).length}/${result.steps.length} subgoals, ${result.plans} plan(s), ${(result.elapsedMs / 1000).toFixed(1)} s; report: ${report}`);

/**
 * This very command (same node, loader flags, script and arguments, same working directory) under
 * `bash -c 'source bridge/ros/env.sh && exec …'`; resolves with its exit code.
 */
function reexecUnder(envScript: string): Promise<number> {
  const command = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const child = spawn('bash', ['-c', 'cmd=("$@"); set --; source "$EMU_ROS_ENV_SCRIPT" >&2 && exec "${cmd[@]}"', 'bash', ...command], {
    stdio: 'inherit',
    env: { ...process.env, EMU_MAIN_JOB_ROS_REEXEC: '1', EMU_ROS_ENV_SCRIPT: envScript },
  });
  // Signals go on to the child (it stops its bridge, once, and exits); we wait for it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => {
    child.on('error', (err) => {
      console.error(`cannot run bash: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}
