import { existsSync } from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { EngineError, InputError, ModelError } from '../errors.ts';

import type { Device } from './devices.ts';

export { DEVICES, type Device } from './devices.ts';

export interface SessionOptions {
  /** Execution provider to try first; GPU requests fall back to CPU with one log line. Default `cpu`. */
  device?: Device;
  /** ORT intra-op threads. Default: 1 on machines with ≤ 4 cores (spinning threads slow decode there), else 4. */
  threads?: number;
  /** Receives one-line notices (provider fallback). Default: silent. */
  log?: (line: string) => void;
  /** Told which provider a graph really runs on (the asked-for one, or cpu after a fallback). */
  onDevice?: (device: Device) => void;
  /**
   * Keep the decoder's KV cache in GPU memory between steps where the provider allows it (WebGPU:
   * `gpu-buffer` outputs); otherwise every step copies the cache out and back. Default true.
   */
  deviceKv?: boolean;
}

/** Outputs a graph should leave on the device when it runs on WebGPU (internal: the decoder's presents). */
export interface GraphPlacement {
  deviceOutputs?: readonly string[];
}

/** Default intra-op thread count for decode-sized work on this machine. */
export function defaultThreads(): number {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return cores <= 4 ? 1 : Math.min(4, Math.floor(cores / 2));
}

/**
 * Opens one ONNX graph. ORT has no automatic provider fallback (`['cuda','cpu']` throws when the CUDA
 * libraries are absent), so a GPU request is tried alone and retried on CPU.
 */
export async function createSession(path: string, options: SessionOptions = {}, placement: GraphPlacement = {}): Promise<ort.InferenceSession> {
  if (!existsSync(path)) throw new ModelError('model_missing', `ONNX file not found: ${path}`);
  const device = options.device ?? 'cpu';
  const threads = checkThreads(options.threads ?? defaultThreads());
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
  if (device !== 'cpu') {
    try {
      // Severity 4 (fatal only): the failed provider load is reported by our one line below instead.
      const kept = device === 'webgpu' && options.deviceKv !== false ? placement.deviceOutputs : undefined;
      const preferredOutputLocation = kept?.length ? Object.fromEntries(kept.map((n) => [n, 'gpu-buffer' as const])) : undefined;
      const session = await ort.InferenceSession.create(path, { ...base, executionProviders: [device], logSeverityLevel: 4, ...(preferredOutputLocation && { preferredOutputLocation }) });
      options.onDevice?.(device);
      return session;
    } catch (err) {
      options.log?.(`onnxruntime: ${device} provider unavailable for ${path} (${firstLine(err)}); falling back to cpu`);
    }
  }
  try {
    const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
    options.onDevice?.('cpu');
    return session;
  } catch (err) {
    throw new ModelError('model_mismatch', `Cannot load ONNX graph ${path}: ${firstLine(err)}`, { cause: err });
  }
}

/**
 * Intra-op threads must be a whole number from 1 to the machine's cores: more only oversubscribes
 * (512 threads turn a 0.1 s job into 47 s on 2 cores).
 */
export function checkThreads(threads: number): number {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  if (!Number.isInteger(threads) || threads < 1 || threads > cores) {
    throw new InputError('input_invalid', `threads must be a whole number from 1 to ${cores} (this machine's cores), got ${threads}`);
  }
  return threads;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

/** Wraps an ORT run failure in an EngineError naming the graph. */
export function engineFailure(what: string, err: unknown): EngineError {
  return new EngineError(`${what} failed: ${firstLine(err)}`, { cause: err });
}
