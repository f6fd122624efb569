import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The environment `source bridge/ros/env.sh` gives a shell, or undefined when bridge/ros/setup.sh
 * has not run here. rclnodejs links against the tree's libraries at process start, so every ROS
 * party runs in its own process with this environment (as a user's shell would). Shared by the tests
 * that start ROS processes.
 */
export function rosEnv(): NodeJS.ProcessEnv | undefined {
  if (!existsSync(path.join(root, '.ros', 'tree')) || !existsSync(path.join(root, 'node_modules/rclnodejs/build/Release/rclnodejs.node'))) return undefined;
  const dump = execFileSync('bash', ['-c', 'source bridge/ros/env.sh >/dev/null && env -0'], { cwd: root, encoding: 'utf8' });
  const env: NodeJS.ProcessEnv = {};
  for (const kv of dump.split('\0')) {
    const at = kv.indexOf('=');
    if (at > 0) env[kv.slice(0, at)] = kv.slice(at + 1);
  }
  // A domain of its own per run: parallel runs on one machine never see each other.
  env.ROS_DOMAIN_ID = testRosDomain();
  return env;
}

/** The DDS domain of this test process: `100 + pid % 100`. */
export function testRosDomain(): string {
  return String(100 + (process.pid % 100));
}
