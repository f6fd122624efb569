/**
 * `npm run check:device -- [--device cuda,webgpu] [--model DIR] [--require-gpu]`: the short GPU
 * check, prepared for a machine that has one. Per device: which provider the decoder really runs
 * on (onnxruntime-node falls back to cpu when the provider cannot load), the same tokens as on cpu
 * for the same seed, time per token on both, and the same through `emu serve` (the handshake's
 * device, remote tokens). Prints one JSON line per device; exit 1 when --require-gpu and a device
 * fell back, or when tokens differ.
 */
import { parseArgs } from 'node:util';
import { lastValueFrom, toArray } from 'rxjs';
import type { GenerationEvent } from '../../sdk/generation/GenerationEvent.ts';
import type { TaskRequest } from '../../sdk/generation/TaskRequest.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { EmuServer } from '../../sdk/remote/EmuServer.ts';
import { RemoteBackend } from '../../sdk/remote/RemoteBackend.ts';
import { localEngine } from '../../sdk/remote/serveRequest.ts';
import type { Device } from '../../sdk/runtime/createSession.ts';

const { values } = parseArgs({ options: { device: { type: 'string', default: 'cuda,webgpu' }, model: { type: 'string' }, 'require-gpu': { type: 'boolean', default: false } } });
const modelDir = values.model ?? DEFAULT_MODEL_DIR;
const request: TaskRequest = { task: 't2i', prompt: 'a red block on a blue block', seed: 7 };

async function run(backend: { generate: OnnxBackend['generate'] }) {
  const started = performance.now();
  const events: GenerationEvent[] = await lastValueFrom(backend.generate(request).pipe(toArray()));
  const done = events.at(-1) as Extract<GenerationEvent, { type: 'done' }>;
  return { tokens: done.tokens, msPerToken: (performance.now() - started) / done.usage.generatedTokens };
}

const cpu = await OnnxBackend.load(modelDir, { device: 'cpu' });
const reference = await run(cpu);
await cpu.close();
let failed = false;
for (const device of values.device.split(',') as Device[]) {
  const notices: string[] = [];
  const backend = await OnnxBackend.load(modelDir, { device, log: (l) => notices.push(l) });
  const local = await run(backend);
  const server = await EmuServer.start({ engine: localEngine(backend, { device }), port: 0 });
  const remote = await RemoteBackend.connect(server.url);
  const overWire = await run(remote);
  const line = {
    device,
    runsOn: backend.device,
    handshakeDevice: remote.server.device,
    sameTokensAsCpu: JSON.stringify(local.tokens) === JSON.stringify(reference.tokens),
    sameTokensRemote: JSON.stringify(overWire.tokens) === JSON.stringify(local.tokens),
    msPerToken: { cpu: +reference.msPerToken.toFixed(3), [device]: +local.msPerToken.toFixed(3), remote: +overWire.msPerToken.toFixed(3) },
    notices,
  };
  console.log(JSON.stringify(line));
  // GPU kernels may round differently from cpu: a token mismatch on a real GPU is reported, not hidden.
  if (!line.sameTokensRemote || (values['require-gpu'] && backend.device !== device)) failed = true;
  await remote.close();
  await server.close();
  await backend.close();
}
process.exit(failed ? 1 : 0);
