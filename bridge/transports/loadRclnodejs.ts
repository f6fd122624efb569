import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TransportError } from '../../sdk/errors.ts';
import type { RclModule } from './rclnodejsSurface.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
/** `source bridge/ros/env.sh` gives a shell the project's ROS 2 environment. */
export const ROS_ENV_SCRIPT = path.join(root, 'bridge/ros/env.sh');

/** Whether this process can use rclnodejs: `ready`, or why not and whether env.sh could fix it. */
export type RosEnvironment = { ready: true } | { ready: false; reason: string; canSource: boolean };

function addonPath(): string | undefined {
  try {
    return path.join(path.dirname(require.resolve('rclnodejs/package.json')), 'build/Release/rclnodejs.node');
  } catch {
    return undefined;
  }
}

/**
 * Checks, without loading rclnodejs, that this process started with a ROS 2 environment: an
 * AMENT_PREFIX_PATH entry holds emu_robotics_msgs, and one holds rcl with its lib folder on
 * LD_LIBRARY_PATH. Loading rclnodejs when its addon cannot link makes it run `npm run rebuild`,
 * whose `node-gyp clean` deletes the build it has: it must never be loaded unchecked.
 */
export function rosEnvironment(env: NodeJS.ProcessEnv = process.env): RosEnvironment {
  const canSource = rosTreeInstalled();
  const addon = addonPath();
  if (!addon) return { ready: false, canSource: false, reason: 'rclnodejs is not installed' };
  const prefixes = (env.AMENT_PREFIX_PATH ?? '').split(':').filter(Boolean);
  const libs = new Set((env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean).map((p) => path.resolve(p)));
  const hasMsgs = prefixes.some((p) => existsSync(path.join(p, 'share', 'emu_robotics_msgs')));
  const hasRcl = prefixes.some((p) => existsSync(path.join(p, 'lib', 'librcl.so')) && libs.has(path.resolve(p, 'lib')));
  if (hasMsgs && hasRcl) return { ready: true };
  const reason = !prefixes.length ? 'no ROS 2 environment (AMENT_PREFIX_PATH is empty)' : !hasRcl ? 'the ROS 2 libraries are not on LD_LIBRARY_PATH' : 'emu_robotics_msgs is not on AMENT_PREFIX_PATH (build and source its overlay)';
  return { ready: false, canSource, reason };
}

/** The repo's ROS tree exists (bridge/ros/setup.sh ran here), so env.sh can be sourced. */
function rosTreeInstalled(): boolean {
  try {
    return existsSync(ROS_ENV_SCRIPT) && existsSync(path.join(readFileSync(path.join(root, '.ros', 'tree'), 'utf8').trim(), 'setup.bash'));
  } catch {
    return false;
  }
}

/** What to tell a user whose process has no usable ROS 2. */
export function rosSetupHint(reason: string): string {
  return `ROS 2 is not usable here: ${reason}. rclnodejs must run in a ROS 2 environment: on this Debian build run \`bash bridge/ros/setup.sh && source bridge/ros/env.sh\`; with ROS 2 Humble/Jazzy/Kilted see bridge/ros/README.md`;
}

/** The one place rclnodejs is loaded: lazily, and only after checking the environment. */
export async function loadRclnodejs(): Promise<RclModule> {
  const env = rosEnvironment();
  if (!env.ready) throw new TransportError(rosSetupHint(env.reason));
  const addon = addonPath();
  if (addon && existsSync(addon)) {
    try {
      // The addon alone first: if it cannot link, this throws, where rclnodejs would rebuild itself.
      require(addon);
    } catch (err) {
      throw new TransportError(rosSetupHint(`its native addon does not load: ${(err as Error).message.split('\n')[0]}`), { cause: err });
    }
  }
  const moduleName = 'rclnodejs';
  try {
    const mod = (await import(moduleName)) as { default?: RclModule } & RclModule;
    return mod.default ?? mod;
  } catch (err) {
    throw new TransportError(rosSetupHint(`cannot load rclnodejs (${(err as Error).message})`), { cause: err });
  }
}
