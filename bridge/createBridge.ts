import { OnnxBackend } from '../sdk/OnnxBackend.ts';
import type { EmuBackend } from '../sdk/EmuBackend.ts';
import { ConfigError } from '../sdk/errors.ts';
import { EmuVlaPlanner } from '../planners/EmuVlaPlanner.ts';
import type { Planner } from '../planners/Planner.ts';
import { BridgePipeline } from './pipeline/BridgePipeline.ts';
import type { BridgeConfig } from './pipeline/BridgeConfig.ts';
import type { Logger } from './pipeline/StatusReporter.ts';
import { McapTransport } from './transports/McapTransport.ts';
import { MemoryTransport } from './transports/MemoryTransport.ts';
import { RosTransport } from './transports/RosTransport.ts';
import type { Transport } from './transports/Transport.ts';

export interface Bridge {
  pipeline: BridgePipeline;
  transport: Transport;
  backend: EmuBackend | undefined;
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

/** Builds backend → planner → transport → pipeline from a validated config, and starts the pipeline. */
export async function createBridge(config: BridgeConfig, parts: BridgeParts = {}): Promise<Bridge> {
  let backend: EmuBackend | undefined;
  let planner = parts.planner;
  if (!planner && !config.model.dir) throw new ConfigError('no model: pass --model DIR (or model.dir in the config file)');
  // The transport first: its checks (an unwritable --record, --record onto --replay) fail before the model loads.
  const transport = parts.transport ?? (await createTransport(config, parts.rosArgs));
  if (!planner) {
    try {
      backend = await OnnxBackend.load(config.model.dir!, { device: config.model.device, threads: config.model.threads, ...(parts.log ? { log: parts.log.info } : {}) });
    } catch (err) {
      await transport.close().catch(() => undefined);
      throw err;
    }
    const { sampling, seed, grid, maxGoalChars } = config.planner;
    planner = new EmuVlaPlanner(backend, { maxGoalChars, ...(sampling ? { sampling } : {}), ...(seed !== undefined ? { seed } : {}), ...(grid ? { grid } : {}) });
  }
  const pipeline = new BridgePipeline({ transport, planner, config, ...(parts.log ? { log: parts.log } : {}) });
  pipeline.start();
  return {
    pipeline,
    transport,
    backend,
    async close() {
      await pipeline.stop();
      await transport.close();
      await backend?.close();
    },
  };
}

async function createTransport(config: BridgeConfig, rosArgs: readonly string[] = []): Promise<Transport> {
  switch (config.transport) {
    case 'ros':
      return RosTransport.create({ nodeName: config.node.name, namespace: config.node.namespace, rosArgs });
    case 'mcap': {
      const { replay, record, compression } = config.mcap;
      if (!replay && !record) throw new ConfigError('the mcap transport needs --replay IN.mcap and/or --record OUT.mcap');
      return McapTransport.create({ compression, ...(replay ? { replay } : {}), ...(record ? { record } : {}) });
    }
    case 'memory':
      return new MemoryTransport();
  }
}
