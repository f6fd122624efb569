/**
 * `npm run check:device -- [--device cuda,webgpu] [--model DIR] [--require-gpu] [--no-emu35-shape]`:
 * the short GPU check, prepared for a machine that has one (one script, a few minutes).
 * 1. `emu doctor` on the model folder: which providers would really run, and why not.
 * 2. Per device, the nano model: which provider the decoder really runs on (onnxruntime-node falls
 *    back to cpu when the provider cannot load), the same tokens as on cpu for the same seed, time
 *    per token on both, and the same through `emu serve` (the handshake's device, remote tokens).
 * 3. Per device, a tiny checkpoint with Emu3.5's vocabulary and head geometry converted by
 *    `emu convert decoder` as fp16 (concat and shared KV) and fp16+int4: greedy tokens against cpu,
 *    tokens/s, where the KV cache ended up (`device` on WebGPU, `host` on CUDA), process RSS and, on
 *    CUDA, the GPU memory nvidia-smi reports.
 * Prints one JSON line per check; exit 1 when --require-gpu and a device fell back, or when remote
 * tokens differ from local ones.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { convertDecoder, type ConvertDecoderOptions } from '../../sdk/convert/convertDecoder.ts';
import { DecoderSession, releaseDecoder } from '../../sdk/runtime/DecoderSession.ts';
import { writeTinyEmu3Checkpoint } from '../../test/kit/emu3Checkpoint.ts';
import { lastValueFrom, toArray } from 'rxjs';
import type { GenerationEvent } from '../../sdk/generation/GenerationEvent.ts';
import type { TaskRequest } from '../../sdk/generation/TaskRequest.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { EmuServer } from '../../sdk/remote/EmuServer.ts';
import { RemoteBackend } from '../../sdk/remote/RemoteBackend.ts';
import { localEngine } from '../../sdk/remote/serveRequest.ts';
import type { Device } from '../../sdk/runtime/createSession.ts';

const { values } = parseArgs({ options: { device: { type: 'string', default: 'cuda,webgpu' }, model: { type: 'string' }, 'require-gpu': { type: 'boolean', default: false }, 'no-emu35-shape': { type: 'boolean', default: false } } });
const modelDir = values.model ?? DEFAULT_MODEL_DIR;
const request: TaskRequest = { task: 't2i', prompt: 'a red block on a blue block', seed: 7 };

async function run(backend: { generate: OnnxBackend['generate'] }) {
  const started = performance.now();
  const events: GenerationEvent[] = await lastValueFrom(backend.generate(request).pipe(toArray()));
  const done = events.at(-1) as Extract<GenerationEvent, { type: 'done' }>;
  return { tokens: done.tokens, msPerToken: (performance.now() - started) / done.usage.generatedTokens };
}

const doctor = spawnSync(process.execPath, ['bin/emu.js', 'doctor', modelDir], { encoding: 'utf8' });
console.log(JSON.stringify({ check: 'emu doctor', exit: doctor.status, output: (doctor.stdout + doctor.stderr).trim().split('\n') }));

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
if (!values['no-emu35-shape']) await emu35Shaped(values.device.split(',') as Device[]);
process.exit(failed ? 1 : 0);

/** Greedy decoding of Emu3.5-shaped converted graphs on every device, against cpu. */
async function emu35Shaped(devices: Device[]): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'emu-devcheck-'));
  const ck = writeTinyEmu3Checkpoint(path.join(root, 'checkpoint'), {
    config: { vocab_size: 282926, hidden_size: 256, intermediate_size: 640, num_hidden_layers: 2, num_attention_heads: 64, num_key_value_heads: 8, head_dim: 128, max_position_embeddings: 2048 },
  });
  const variants: Record<string, Partial<ConvertDecoderOptions>> = { 'fp16 concat': { dtype: 'float16' }, 'fp16 shared': { dtype: 'float16', kvCache: 'shared' }, 'fp16 int4 shared': { dtype: 'float16', quant: 'int4', kvCache: 'shared' } };
  for (const [name, options] of Object.entries(variants)) {
    const converted = convertDecoder({ from: ck.dir, to: path.join(root, name.replace(/ /g, '-')), manifest: null, ...options });
    const decode = async (device: Device) => {
      let ranOn: Device = 'cpu';
      const session = await DecoderSession.openSession(converted.decoderFile, converted.spec, 282926, { device, onDevice: (d) => (ranOn = d) });
      const lm = new DecoderSession(session, converted.spec, 282926);
      const tokens: number[] = [];
      let row = await lm.prefill(Array.from({ length: 1000 }, (_, i) => (i * 7919 + 13) % 151643));
      const t0 = performance.now();
      for (let i = 0; i < 32; i++) {
        let best = 0;
        for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
        tokens.push(best);
        row = await lm.step(best);
      }
      const tokensPerSecond = 32 / ((performance.now() - t0) / 1000);
      const kvLocation = lm.kvLocation;
      await releaseDecoder(session);
      return { ranOn, tokens, tokensPerSecond, kvLocation };
    };
    const reference = await decode('cpu');
    for (const device of devices) {
      const got = await decode(device);
      const smi = device === 'cuda' ? spawnSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader'], { encoding: 'utf8' }) : undefined;
      console.log(JSON.stringify({
        check: `emu35-shaped ${name}`,
        device,
        runsOn: got.ranOn,
        kvCache: got.kvLocation,
        sameTokensAsCpu: JSON.stringify(got.tokens) === JSON.stringify(reference.tokens),
        firstDifference: got.tokens.findIndex((t, i) => t !== reference.tokens[i]),
        tokensPerSecond: { cpu: +reference.tokensPerSecond.toFixed(1), [device]: +got.tokensPerSecond.toFixed(1) },
        rssMb: Math.round(process.resourceUsage().maxRSS / 1024),
        ...(smi?.status === 0 ? { gpuMemoryUsed: smi.stdout.trim() } : {}),
      }));
      if (values['require-gpu'] && got.ranOn !== device) failed = true;
    }
  }
  rmSync(root, { recursive: true, force: true });
}
