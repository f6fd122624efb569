import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../sdk/errors.ts';
import { decodeImage } from '../../sdk/image/codec.ts';
import { createBridge } from '../../bridge/createBridge.ts';
import { loadBridgeConfigFile, mergeConfig, parseBridgeConfig, type BridgeConfig } from '../../bridge/pipeline/BridgeConfig.ts';
import { consoleLogger, type StatusReporter } from '../../bridge/pipeline/StatusReporter.ts';
import { McapTransport, type ReplayStats } from '../../bridge/transports/McapTransport.ts';
import { MemoryTransport } from '../../bridge/transports/MemoryTransport.ts';

const USAGE = `usage: emu bridge --transport ros|mcap|memory --model DIR [--config params.yaml] [options]

  --transport T        ros (rclnodejs, needs a sourced ROS 2), mcap (offline bags), memory (one plan)
  --model DIR          model folder (emu-model.json)
  --backend URL        a remote engine instead: ws://host:port (emu serve) or nats://host:port
                       (emu worker); its token from model.tokenFile or EMU_TOKEN
  --config FILE        YAML parameters (this shape or ROS 2 '<node>: ros__parameters:'); flags win
  --replay IN.mcap     mcap: bag of camera frames + goals to run the planner over
  --record OUT.mcap    mcap: bag every plan, subgoal and status message is written to
  --compression C      zstd (default) | lz4 | none, for --record
  --rate R             mcap: replay speed; 0 (default) = offline lockstep, each message waits for the planner
  --frame IMG --goal G memory: plan once from a PNG/JPEG and print the plan as JSON
  --max-new-tokens N   --seed N   --threads N   --device cpu|cuda|webgpu
  --image-topic T      --goal-topic T
  --no-autostart       ros: start unconfigured, as a managed node waiting for
                       \`ros2 lifecycle set /emu_bridge configure\` (then activate)
  --ros-args ... [--]  ros: arguments for rcl, as any ROS 2 node takes them: -r FROM:=TO remapping,
                       --params-file FILE (also read as --config), --log-level L`;

/** `emu bridge …`: runs the planning bridge. Returns the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const { ours, rosArgs } = splitRosArgs(argv);
  const { values } = parseArgs({
    args: ours,
    options: {
      help: { type: 'boolean', short: 'h' },
      transport: { type: 'string' },
      model: { type: 'string' },
      backend: { type: 'string' },
      config: { type: 'string' },
      replay: { type: 'string' },
      record: { type: 'string' },
      compression: { type: 'string' },
      rate: { type: 'string' },
      frame: { type: 'string' },
      goal: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      device: { type: 'string' },
      'image-topic': { type: 'string' },
      'goal-topic': { type: 'string' },
      'no-autostart': { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const config = await resolveConfig(values);
  if (rosArgs.length && config.transport !== 'ros') throw new ConfigError(`--ros-args applies to --transport ros only (got ${config.transport})`);
  if (config.transport === 'mcap') return runMcap(config);
  if (config.transport === 'memory') return runMemory(config, values.frame, values.goal);
  return runRos(config, rosArgs);
}

/**
 * A ROS command line: our flags, then `--ros-args …` (up to a lone `--`) for rcl, as every ROS 2
 * node takes them (`-r /camera/image_raw:=/cam/color`, `--params-file f.yaml`, `--log-level debug`).
 * A params file is also read as our config (its `<node>: ros__parameters:` block).
 */
export function splitRosArgs(argv: readonly string[]): { ours: string[]; rosArgs: string[] } {
  const at = argv.indexOf('--ros-args');
  if (at < 0) return { ours: [...argv], rosArgs: [] };
  const rest = argv.slice(at + 1);
  const end = rest.indexOf('--');
  const rosArgs = end < 0 ? rest : rest.slice(0, end);
  const ours = [...argv.slice(0, at), ...(end < 0 ? [] : rest.slice(end + 1))];
  const params = rosArgs.indexOf('--params-file');
  if (params >= 0 && rosArgs[params + 1] && !ours.includes('--config')) ours.push('--config', rosArgs[params + 1]!);
  return { ours, rosArgs };
}

type Flags = Record<string, string | boolean | undefined>;

async function resolveConfig(values: Flags): Promise<BridgeConfig> {
  const file = typeof values.config === 'string' ? await loadBridgeConfigFile(values.config) : {};
  const num = (flag: string) => (typeof values[flag] === 'string' ? Number(values[flag]) : undefined);
  const maxNew = num('max-new-tokens');
  const flags = {
    transport: values.transport,
    node: { autostart: values['no-autostart'] ? false : undefined },
    model: { dir: values.model, url: values.backend, device: values.device, threads: num('threads') },
    planner: { seed: num('seed'), ...(maxNew !== undefined ? { sampling: { maxNewTokens: maxNew } } : {}) },
    topics: { image: values['image-topic'], goal: values['goal-topic'] },
    mcap: { replay: values.replay, record: values.record, compression: values.compression, rate: num('rate') },
  };
  const merged = mergeConfig(file, flags);
  if (!merged.transport) throw new ConfigError(`--transport is required (ros, mcap or memory)\n\n${USAGE}`);
  return parseBridgeConfig(merged);
}

/**
 * Replays and/or records a bag. Whatever happens (bad input, a failed plan, SIGINT/SIGTERM) the
 * recorded bag is finished (last chunk, summary, footer) before the process ends, and a failure is
 * rethrown afterwards so that its code is printed and the exit status is non-zero.
 */
async function runMcap(config: BridgeConfig): Promise<number> {
  const bridge = await createBridge(config, { log: consoleLogger });
  const transport = bridge.transport as McapTransport;
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    consoleLogger.info(`${signal}: stopping${config.mcap.record ? `, finishing ${config.mcap.record}` : ''}`);
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = performance.now();
  let failure: unknown;
  let stopped = false;
  let stats: ReplayStats | undefined;
  try {
    if (config.mcap.replay) {
      const lockstep = config.mcap.rate === 0;
      stats = await transport.replay({ rate: config.mcap.rate, signal: stop.signal, ...(lockstep ? { gate: () => bridge.pipeline.whenIdle() } : {}) });
      if (!stats.stopped) await Promise.race([bridge.pipeline.whenIdle(), new Promise((r) => stop.signal.addEventListener('abort', r, { once: true }))]);
      stopped = stop.signal.aborted;
    }
  } catch (err) {
    failure = err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await bridge.close().catch((err) => {
      failure ??= err;
    });
  }
  // After close, so the counters are final (a frame still held counts as dropped).
  if (stats) logReplay(config, stats, bridge.pipeline.status.counters, performance.now() - started, stopped);
  if (failure !== undefined) throw failure;
  return stopped ? 130 : 0;
}

function logReplay(config: BridgeConfig, stats: ReplayStats, c: StatusReporter['counters'], ms: number, stopped: boolean): void {
  consoleLogger.info(
    `replayed ${stats.read} messages (${stats.delivered} delivered, ${stats.skipped} skipped${stats.damaged ? `, ${stats.damaged} damaged region(s) of the bag skipped` : ''}) ` +
      `in ${(ms / 1000).toFixed(1)} s${stopped ? ' (stopped early)' : ''}: ` +
      `${c.frames_received} frames (${c.frames_used} used, ${c.frames_rejected} rejected, ${c.frames_dropped} dropped), ${c.goals_received} goals (${c.goals_rejected} rejected), ` +
      `${c.plans_completed} plans, ${c.plans_cancelled} cancelled, ${c.plans_failed} failed` +
      (config.mcap.record ? ` → ${config.mcap.record}` : ''),
  );
}

async function runMemory(config: BridgeConfig, framePath: string | undefined, goal: string | undefined): Promise<number> {
  if (!framePath || !goal) throw new ConfigError('the memory transport runs one plan: pass --frame IMAGE and --goal TEXT');
  const image = await decodeImage(await readFile(framePath), { what: framePath, maxPixels: config.frames.maxPixels });
  const transport = new MemoryTransport();
  const bridge = await createBridge(config, { transport, log: consoleLogger });
  try {
    bridge.pipeline.sampler.offer({ image, stamp: { sec: Math.floor(Date.now() / 1000), nanosec: 0 }, frameId: 'frame' });
    const plan = await bridge.pipeline.submitGoal(goal);
    console.log(JSON.stringify(plan, null, 2));
  } finally {
    await bridge.close();
  }
  return 0;
}

/** Runs the node until SIGINT/SIGTERM or its lifecycle shutdown (`ros2 lifecycle set … shutdown`). */
async function runRos(config: BridgeConfig, rosArgs: readonly string[]): Promise<number> {
  const bridge = await createBridge(config, { log: consoleLogger, rosArgs });
  const { topics } = bridge.lifecycle.config;
  consoleLogger.info(`node '${config.node.name}' up (${bridge.lifecycle.state}): camera ${topics.image}, goals ${topics.goal}, plans ${topics.plan}, action ${topics.action}`);
  let onSignal!: () => void;
  const signalled = new Promise<void>((resolve) => (onSignal = resolve));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await Promise.race([signalled, bridge.lifecycle.finalized]);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // A shutdown asked for over ROS answers its service call first (sent after this macrotask).
  await new Promise((resolve) => setImmediate(resolve));
  await bridge.close();
  return 0;
}
