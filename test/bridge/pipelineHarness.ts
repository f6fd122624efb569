import { BridgePipeline } from '../../bridge/pipeline/BridgePipeline.ts';
import { parseBridgeConfig, type BridgeConfigInput } from '../../bridge/pipeline/BridgeConfig.ts';
import type { Logger } from '../../bridge/pipeline/StatusReporter.ts';
import { MemoryTransport } from '../../bridge/transports/MemoryTransport.ts';
import type { Transport } from '../../bridge/transports/Transport.ts';
import type { ImageMsg } from '../../bridge/messages/rosTypes.ts';
import { EmuVlaPlanner } from '../../planners/EmuVlaPlanner.ts';
import { ScriptedBackend, solidImage, vlaEvents } from '../planners/ScriptedBackend.ts';

export const steps = [
  { text: 'Reach the red cube.', image: solidImage(4, 4, 60) },
  { text: 'Put it in the bowl.', image: solidImage(4, 4, 120) },
];

/** A recording logger: lines kept for assertions instead of printed. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (l) => lines.push(`I ${l}`), warn: (l) => lines.push(`W ${l}`) };
}

export function makePipeline<T extends Transport = MemoryTransport>(config: BridgeConfigInput = {}, delayMs = 1, keepPublished = 10_000, over?: T) {
  const transport = (over ?? new MemoryTransport({ keepPublished })) as T;
  const backend = new ScriptedBackend(() => vlaEvents(steps), delayMs);
  const planner = new EmuVlaPlanner(backend);
  const log = recordingLogger();
  const pipeline = new BridgePipeline({ transport, planner, config: parseBridgeConfig(config), log });
  pipeline.start();
  return { transport, backend, pipeline, log };
}

export function rgbFrame(sec: number, width = 8, height = 6, value = 7): ImageMsg {
  return {
    header: { stamp: { sec, nanosec: 0 }, frame_id: 'cam' },
    width,
    height,
    encoding: 'rgb8',
    is_bigendian: 0,
    step: width * 3,
    data: new Uint8Array(width * height * 3).fill(value),
  };
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` every few ms until true; fails after `timeoutMs` (no fixed sleeps in assertions). */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await tick(2);
  }
}
