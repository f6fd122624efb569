import type { EmuBackend } from '../sdk/EmuBackend.ts';
import { ConfigError } from '../sdk/errors.ts';
import type { Planner } from '../planners/Planner.ts';
import { BridgeLifecycle, LifecycleError } from './BridgeLifecycle.ts';
import type { BridgePipeline } from './pipeline/BridgePipeline.ts';
import type { BridgeConfig } from './pipeline/BridgeConfig.ts';
import type { Logger } from './pipeline/StatusReporter.ts';
import { declareBridgeParameters } from './ros/bridgeParameters.ts';
import { serveLifecycle } from './ros/lifecycleServices.ts';
import { McapTransport } from './transports/McapTransport.ts';
import { MemoryTransport } from './transports/MemoryTransport.ts';
import { RosTransport } from './transports/RosTransport.ts';
import type { Transport } from './transports/Transport.ts';

export interface Bridge {
  /** The managed node: configure / activate / deactivate / cleanup / shutdown. */
  lifecycle: BridgeLifecycle;
  /** The pipeline of the current (or, after cleanup, the last) configuration. */
  readonly pipeline: BridgePipeline;
  transport: Transport;
  /** The loaded model while configured. */
  readonly backend: EmuBackend | undefined;
  /** Shuts the node down (if it is not already) and closes the transport. */
  close(): Promise<void>;
}

export interface BridgeParts {
  /** Use this planner instead of an EmuVlaPlanner over `config.model.dir`. */
  planner?: Planner;
  transport?: Transport;
  log?: Logger;
  /** ROS arguments (after `--ros-args`) for the ROS transport. */
  rosArgs?: readonly string[];
}

/**
 * Builds transport → lifecycle (backend → planner → pipeline at configure) from a validated
 * config, and, with `node.autostart` (the default), configures and activates it. On the ROS
 * transport the node is a managed node with the bridge's settings as ROS parameters.
 */
export async function createBridge(config: BridgeConfig, parts: BridgeParts = {}): Promise<Bridge> {
  // Without ROS there is nothing that could supply the model later: say so before anything opens.
  if (!parts.planner && !config.model.dir && !config.model.url && config.transport !== 'ros') throw new ConfigError('no model: pass --model DIR or --backend URL (or model.dir / model.url in the config file)');
  // The transport first: its checks (an unwritable --record, --record onto --replay) fail before the model loads.
  const transport = parts.transport ?? (await createTransport(config, parts.rosArgs));
  const lifecycle = new BridgeLifecycle(config, { transport, ...(parts.planner ? { planner: parts.planner } : {}), ...(parts.log ? { log: parts.log } : {}) });
  let last: BridgePipeline | undefined;
  lifecycle.events.subscribe((e) => {
    if (e.ok && lifecycle.pipeline) last = lifecycle.pipeline;
  });
  const stopRos: Array<() => void> = [];
  const close = async () => {
    try {
      await lifecycle.close();
    } finally {
      for (const stop of stopRos) stop();
      await transport.close();
    }
  };
  try {
    if (transport instanceof RosTransport) {
      // -p overrides and a params file count before the first configure.
      lifecycle.update(declareBridgeParameters(transport, lifecycle, parts.log));
      stopRos.push(serveLifecycle(transport, lifecycle, parts.log));
    }
    if (config.node.autostart) {
      await lifecycle.configure();
      await lifecycle.activate();
    }
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return {
    lifecycle,
    transport,
    get pipeline() {
      const pipeline = lifecycle.pipeline ?? last;
      if (!pipeline) throw new LifecycleError('the bridge has not been configured yet (no pipeline)');
      return pipeline;
    },
    get backend() {
      return lifecycle.backend;
    },
    close,
  };
}

async function createTransport(config: BridgeConfig, rosArgs: readonly string[] = []): Promise<Transport> {
  switch (config.transport) {
    case 'ros':
      return RosTransport.create({ nodeName: config.node.name, namespace: config.node.namespace, rosArgs, lifecycle: true });
    case 'mcap': {
      const { replay, record, compression } = config.mcap;
      if (!replay && !record) throw new ConfigError('the mcap transport needs --replay IN.mcap and/or --record OUT.mcap');
      return McapTransport.create({ compression, ...(replay ? { replay } : {}), ...(record ? { record } : {}) });
    }
    case 'memory':
      return new MemoryTransport();
  }
}
