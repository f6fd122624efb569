import type { EmuBackend } from './EmuBackend.ts';
import type { SessionOptions } from './runtime/createSession.ts';

export interface OpenBackendOptions extends SessionOptions {
  /** For `emu serve` (ws://); default: the EMU_TOKEN environment variable. */
  token?: string;
  /** The NATS server's own token (nats://); default: the EMU_NATS_TOKEN environment variable. */
  natsToken?: string;
}

/** Whether `where` names a remote engine (`ws://`, `wss://`, `nats://`) rather than a model folder. */
export function isRemote(where: string): boolean {
  return /^(wss?|nats):\/\//i.test(where);
}

/**
 * The one switch between in-process and remote inference: a model folder → `OnnxBackend`,
 * `ws://host:port` → `RemoteBackend` (behind `emu serve`), `nats://host:port` → the workers of a
 * NATS queue group (`emu worker`). Everything above the SDK gets an `EmuBackend` and cannot tell.
 * Each is imported only when asked for (no onnxruntime for a remote one, no ws for a local one).
 */
export async function openBackend(where: string, options: OpenBackendOptions = {}): Promise<EmuBackend> {
  // A token file given for a nats:// engine (a bridge's model.tokenFile, --token-file) is the NATS server's.
  if (/^nats:\/\//i.test(where) && options.token && !options.natsToken) options = { ...options, natsToken: options.token };
  const token = options.token ?? process.env.EMU_TOKEN;
  if (/^wss?:\/\//i.test(where)) {
    const { RemoteBackend } = await import('./remote/RemoteBackend.ts');
    return RemoteBackend.connect(where, { ...(token ? { token } : {}), ...(options.log ? { log: options.log } : {}) });
  }
  if (/^nats:\/\//i.test(where)) {
    const { NatsBackend } = await import('./remote/nats/NatsBackend.ts');
    const natsToken = options.natsToken ?? process.env.EMU_NATS_TOKEN;
    return NatsBackend.connect(where, { ...(natsToken ? { token: natsToken } : {}), ...(options.log ? { log: options.log } : {}) });
  }
  const { OnnxBackend } = await import('./OnnxBackend.ts');
  return OnnxBackend.load(where, options);
}
