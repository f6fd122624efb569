/**
 * `npm run bench:memory [-- --context 4096] [--steps 8]`
 *
 * What a long context costs per weight variant and KV layout, measured on a tiny checkpoint with
 * Emu3.5's own vocabulary (282,926) and attention geometry (64 query heads, 8 KV heads, head dim
 * 128) but 2 layers of width 256, converted by `emu convert decoder`:
 * - decoder size on disk, process RSS after loading and its peak after a full-context prefill
 *   (each variant in a fresh process, ORT 1 thread);
 * - decode step latency with a short history (64) and a full one (context − 8), for the `concat`
 *   graph (present = past ++ new, a new tensor per step) beside the `shared` one
 *   (GroupQueryAttention appending into a preallocated buffer);
 * - the same figures computed for the real 34B per variant at that context, two CFG streams.
 * Writes the `## Long context and memory (bench:memory)` section of docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';
import { convertDecoder, type ConvertDecoderOptions } from '../../sdk/convert/convertDecoder.ts';
import { DecoderSession, PREFILL_CHUNK } from '../../sdk/runtime/DecoderSession.ts';
import { writeTinyEmu3Checkpoint } from '../../test/kit/emu3Checkpoint.ts';

const { values } = parseArgs({
  options: {
    context: { type: 'string', default: '4096' },
    steps: { type: 'string', default: '8' },
    out: { type: 'string', default: 'out/bench-memory' },
    child: { type: 'string' },
  },
});
const context = Number(values.context);
const steps = Number(values.steps);
const VOCAB = 282926;

interface ChildResult {
  loadedRssMb: number;
  peakRssMb: number;
  prefillMs: number;
  stepShortMs: number;
  stepLongMs: number;
}

if (values.child) {
  const { spec } = JSON.parse(values.child) as { spec: ConstructorParameters<typeof DecoderSession>[1] & { file: string } };
  const session = await DecoderSession.openSession(spec.file, spec, VOCAB, { threads: 1 });
  const loadedRssMb = process.resourceUsage().maxRSS / 1024;
  const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919 + 13) % 151643);
  const timeSteps = async (lm: DecoderSession) => {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await lm.step(100 + i);
    return (performance.now() - t0) / steps;
  };
  const short = new DecoderSession(session, spec, VOCAB);
  await short.prefill(ids(64));
  await short.step(1); // warm-up
  const stepShortMs = await timeSteps(short);
  const long = new DecoderSession(session, spec, VOCAB);
  const t0 = performance.now();
  await long.prefill(ids(context - steps - 1));
  const prefillMs = performance.now() - t0;
  await long.step(1);
  const stepLongMs = await timeSteps(long);
  const result: ChildResult = { loadedRssMb, peakRssMb: process.resourceUsage().maxRSS / 1024, prefillMs, stepShortMs, stepLongMs };
  console.log(JSON.stringify(result));
  process.exit(0);
}

const out = values.out!;
rmSync(out, { recursive: true, force: true });
const ck = writeTinyEmu3Checkpoint(path.join(out, 'checkpoint'), {
  shards: 2,
  config: { vocab_size: VOCAB, hidden_size: 256, intermediate_size: 640, num_hidden_layers: 2, num_attention_heads: 64, num_key_value_heads: 8, head_dim: 128, max_position_embeddings: context },
});

const VARIANTS: { name: string; options: Partial<ConvertDecoderOptions> }[] = [
  { name: 'fp32, concat', options: { dtype: 'float32' } },
  { name: 'fp32, shared', options: { dtype: 'float32', kvCache: 'shared' } },
  { name: 'fp16, concat', options: { dtype: 'float16' } },
  { name: 'fp16, shared', options: { dtype: 'float16', kvCache: 'shared' } },
  { name: 'fp32 + int8, shared', options: { dtype: 'float32', quant: 'int8', kvCache: 'shared' } },
  { name: 'fp32 + int4, shared', options: { dtype: 'float32', quant: 'int4', kvCache: 'shared' } },
  { name: 'fp16 + int8, shared', options: { dtype: 'float16', quant: 'int8', kvCache: 'shared' } },
  { name: 'fp16 + int4, shared', options: { dtype: 'float16', quant: 'int4', kvCache: 'shared' } },
];
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const rows: (string | number)[][] = [];
for (const v of VARIANTS) {
  const dir = path.join(out, v.name.replace(/\W+/g, '-'));
  const converted = convertDecoder({ from: ck.dir, to: dir, manifest: null, ...v.options });
  const size = ['decoder.onnx', 'decoder.onnx.data'].reduce((a, f) => a + (existsSync(path.join(dir, f)) ? statSync(path.join(dir, f)).size : 0), 0);
  process.stderr.write(`${v.name}: measuring in a fresh process…\n`);
  const child = spawnSync(process.execPath, ['--import', 'tsx', 'bin/bench/memoryBench.ts', '--context', String(context), '--steps', String(steps), '--child', JSON.stringify({ spec: { ...converted.spec, file: converted.decoderFile } })], { encoding: 'utf8' });
  if (child.status !== 0) {
    rows.push([v.name, mb(size), `failed: ${child.stderr.trim().split('\n').slice(-2).join(' ')}`, '', '', '', '']);
    continue;
  }
  const r = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as ChildResult;
  rows.push([v.name, mb(size), `${r.loadedRssMb.toFixed(0)} MB`, `${r.peakRssMb.toFixed(0)} MB`, (r.prefillMs / 1000).toFixed(1), r.stepShortMs.toFixed(1), r.stepLongMs.toFixed(1)]);
}

const body = [
  `Command: \`npm run bench:memory${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (bin/bench/memoryBench.ts). ${machineLine()} ORT threads: 1.`,
  `A tiny checkpoint in the released format with Emu3.5's vocabulary (${VOCAB}) and attention geometry (64 query heads, 8 KV heads, head dim 128),`,
  `2 layers of width 256, converted by \`emu convert decoder\`. One stream; prefill of ${context - steps - 1} tokens in chunks of ${PREFILL_CHUNK}, then ${steps} timed steps.`,
  'Every graph keeps only the last position\'s logits (`logits_to_keep`); before this, the engine converted the whole',
  `[1, S, ${VOCAB}] tensor: ${mb(context * VOCAB * 4)} per stream at ${context} tokens, on top of the figures below.`,
  '',
  markdownTable(['variant', 'decoder on disk', 'RSS loaded', `RSS peak at ${context}`, 'prefill (s)', 'step at 64 (ms)', `step at ${context - steps} (ms)`], rows),
].join('\n');
writeBenchmarkSection('Long context and memory (bench:memory)', body);
console.log(body);
