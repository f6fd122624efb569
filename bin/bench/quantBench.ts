/**
 * `npm run bench:quant [-- --count N] [--episodes N] [--variants fp32,fp16,int8,int4] [--block-size B]`
 *
 * emu-nano written out as an Emu3.5-format checkpoint (training/nanoCheckpoint.ts), converted by
 * `emu convert decoder` into fp32, fp16, int8 and int4 (MatMulNBits) folders, and every variant judged
 * side by side in one run: decoder size, decode tokens/s, peak memory of a prefill at the full
 * context (its own process per variant), the generative tasks (sim/eval/evaluateTasks.ts, as
 * bench:tasks) and the closed-loop planner suites (sim/eval/evaluate.ts, as bench:planners).
 * Also the shipped `decoder.onnx` as the baseline the fp32 conversion must equal.
 * Writes the `## Quantized decoders (bench:quant)` section of docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { lastValueFrom, toArray } from 'rxjs';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';
import { convertDecoder } from '../../sdk/convert/convertDecoder.ts';
import type { GenerationEvent } from '../../sdk/generation/GenerationEvent.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { evaluate } from '../../sim/eval/evaluate.ts';
import { evaluateTask, GENERATIVE_TASKS } from '../../sim/eval/evaluateTasks.ts';
import { makeTaskExample } from '../../sim/tasks/taskExamples.ts';
import { nanoShape, writeNanoAsEmu3Checkpoint } from '../../training/nanoCheckpoint.ts';
import { ProgressBar } from '../cli/ProgressBar.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '40' },
    episodes: { type: 'string', default: '20' },
    variants: { type: 'string', default: 'shipped,fp32,fp16,int8,int8-mixed,int4,int4-exact,int4-mixed' },
    'block-size': { type: 'string', default: '32' },
    out: { type: 'string', default: 'out/bench-quant' },
    workers: { type: 'string', default: '1' },
    'measure-memory': { type: 'string' },
    context: { type: 'string' },
  },
});

/** Child mode: load one folder, prefill `context` tokens, print max RSS (a fresh process per variant). */
if (values['measure-memory']) {
  const backend = await OnnxBackend.load(values['measure-memory'], { threads: 1 });
  const { DecoderSession } = await import('../../sdk/runtime/DecoderSession.ts');
  const m = backend.manifest;
  const dir = values['measure-memory'];
  const session = await DecoderSession.openSession(path.join(dir, m.decoder.file), m.decoder, m.vocab.size, { threads: 1 });
  const before = process.resourceUsage().maxRSS;
  const lm = new DecoderSession(session, m.decoder, m.vocab.size);
  const n = Number(values.context ?? m.decoder.maxPositions);
  await lm.prefill(Array.from({ length: n - 1 }, (_, i) => (i * 7 + 3) % m.vocab.size));
  await lm.step(5);
  console.log(JSON.stringify({ loadedRssKb: before, peakRssKb: process.resourceUsage().maxRSS }));
  process.exit(0);
}

const MIXED = [
  { pattern: 'lm_head.weight', as: 'dense' as const },
  { pattern: '*.self_attn.*', as: 'dense' as const },
];
const VARIANTS = {
  shipped: undefined,
  fp32: { dtype: 'float32' as const },
  fp16: { dtype: 'float16' as const },
  int8: { dtype: 'float32' as const, quant: 'int8' as const },
  int4: { dtype: 'float32' as const, quant: 'int4' as const },
  /** accuracy_level 0: exactly the dequantized weights in fp32 (the 8-bit kernel is too slow at level 0 to judge). */
  'int4-exact': { dtype: 'float32' as const, quant: 'int4' as const, accuracyLevel: 0 as const },
  /** Mixed precision: lm_head and attention kept fp32, the MLPs quantized (`--tensor-quant`). */
  'int8-mixed': { dtype: 'float32' as const, quant: 'int8' as const, tensorQuant: MIXED },
  'int4-mixed': { dtype: 'float32' as const, quant: 'int4' as const, tensorQuant: MIXED },
};
type VariantName = keyof typeof VARIANTS;
const variants = values.variants!.split(',') as VariantName[];
for (const v of variants) if (!(v in VARIANTS)) throw new Error(`unknown variant ${v}; known: ${Object.keys(VARIANTS).join(', ')}`);
const blockSize = Number(values['block-size']) as 16 | 32 | 64 | 128;
const count = Number(values.count);
const episodes = Number(values.episodes);
const out = values.out!;

rmSync(out, { recursive: true, force: true });
const checkpoint = path.join(out, 'checkpoint');
writeNanoAsEmu3Checkpoint(path.join(DEFAULT_MODEL_DIR, 'decoder.onnx'), nanoShape(DEFAULT_MODEL_DIR), checkpoint);

function folderOf(v: VariantName): string {
  const spec = VARIANTS[v];
  if (!spec) return DEFAULT_MODEL_DIR;
  const dir = path.join(out, v);
  convertDecoder({ from: checkpoint, to: dir, ...spec, ...('quant' in spec ? { blockSize } : {}), manifest: path.join(DEFAULT_MODEL_DIR, 'emu-model.json') });
  for (const f of ['vision_encoder.onnx', 'vision_decoder.onnx']) if (!existsSync(path.join(dir, f))) symlinkSync(path.resolve(DEFAULT_MODEL_DIR, f), path.join(dir, f));
  return dir;
}

const decoderBytes = (dir: string) => ['decoder.onnx', 'decoder.onnx.data'].reduce((a, f) => a + (existsSync(path.join(dir, f)) ? statSync(path.join(dir, f)).size : 0), 0);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
/** A rate ± its standard error sqrt(p(1−p)/n). */
const rate = (p: number, n: number) => `${pct(p)} ± ${(100 * Math.sqrt((p * (1 - p)) / Math.max(1, n))).toFixed(1)}`;

type Done = Extract<GenerationEvent, { type: 'done' }>;
async function tokensPerSecond(backend: OnnxBackend): Promise<number> {
  let tokens = 0;
  let ms = 0;
  for (let seed = 0; seed < 5; seed++) {
    const ex = makeTaskExample('t2i', 'heldout', seed);
    const done = (await lastValueFrom(backend.generate({ task: 't2i', prompt: ex.instruction, seed }).pipe(toArray()))).at(-1) as Done;
    tokens += done.usage.generatedTokens;
    ms += done.usage.timings.decodeMs;
  }
  return (tokens / ms) * 1000;
}

const sizeRows: (string | number)[][] = [];
const taskRows: (string | number)[][] = [];
const plannerRows: (string | number)[][] = [];
const shippedTokens = new Map<string, number[]>();
for (const v of variants) {
  const dir = folderOf(v);
  const mem = spawnSync(process.execPath, ['--import', 'tsx', path.join('bin/bench/quantBench.ts'), '--measure-memory', dir], { encoding: 'utf8' });
  const memory = mem.status === 0 ? (JSON.parse(mem.stdout.trim().split('\n').at(-1)!) as { loadedRssKb: number; peakRssKb: number }) : undefined;
  const backend = await OnnxBackend.load(dir, { threads: 1 });
  const tps = await tokensPerSecond(backend);
  // Same tokens as the shipped decoder on the first held-out example of each task (greedy-equal check).
  let same = 0;
  let total = 0;
  for (const task of GENERATIVE_TASKS) {
    const ex = makeTaskExample(task, 'heldout', 0);
    const { renderLayout } = await import('../../sim/render/renderLayout.ts');
    const done = (await lastValueFrom(backend.generate({ task, prompt: ex.instruction, images: ex.inputs.map((l) => renderLayout(l)), seed: 0 }).pipe(toArray()))).at(-1) as Done;
    if (v === 'shipped') shippedTokens.set(task, done.tokens);
    const ref = shippedTokens.get(task);
    total++;
    if (ref && ref.length === done.tokens.length && ref.every((t, i) => t === done.tokens[i])) same++;
  }
  sizeRows.push([
    v,
    `${(decoderBytes(dir) / 1e6).toFixed(2)} MB`,
    tps.toFixed(0),
    memory ? `${(memory.loadedRssKb / 1024).toFixed(0)} / ${(memory.peakRssKb / 1024).toFixed(0)} MB` : `failed: ${mem.stderr.trim().split('\n').at(-1)}`,
    shippedTokens.size ? `${same}/${total}` : '–',
  ]);
  for (const task of GENERATIVE_TASKS) {
    const n = task === 'story' ? count * 2 : count;
    const bar = new ProgressBar(`${v} ${task}`);
    const r = await evaluateTask(backend, { task, count: n, seed: 0, onProgress: (d, t) => bar.update(d, t) });
    bar.finish();
    taskRows.push([v, task, r.examples, pct(r.wellFormedRate), rate(r.imageAgreementRate, r.examples), rate(r.exampleSuccessRate, r.examples)]);
  }
  await backend.close();
  process.stderr.write(`${v}: planner suites, ${episodes} episodes each\n`);
  const report = await evaluate({ planner: `emu:${dir}`, suite: 'all', split: 'heldout', episodes, seed: 0, workers: Number(values.workers) });
  for (const [suite, m] of Object.entries(report.suites)) plannerRows.push([v, suite, m.episodes, rate(m.successRate, m.episodes), pct(m.keyframeAgreement ?? 0), m.planLatencyP50Ms.toFixed(0)]);
  plannerRows.push([v, '**all**', report.overall.episodes, rate(report.overall.successRate, report.overall.episodes), pct(report.overall.keyframeAgreement ?? 0), report.overall.planLatencyP50Ms.toFixed(0)]);
}

const convertRecord = (v: VariantName) => (VARIANTS[v] ? JSON.parse(readFileSync(path.join(out, v, 'convert.json'), 'utf8')).decoder.report : undefined);
const body = [
  `Command: \`npm run bench:quant${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (bin/bench/quantBench.ts). ${machineLine()} ORT threads: 1.`,
  `emu-nano written as an Emu3.5-format checkpoint (config.json + F32 safetensors, official tensor names) and converted by \`emu convert decoder\`;`,
  `int8/int4 are weight-only MatMulNBits (block ${blockSize}, accuracy_level 4: int8 compute) on every linear layer and lm_head, embeddings fp32; int4-exact uses accuracy_level 0; int8-mixed and int4-mixed keep lm_head and every self_attn projection fp32 (\`--tensor-quant 'lm_head.weight=dense,*.self_attn.*=dense'\`), the MLPs quantized. \`shipped\` is models/emu-nano/decoder.onnx.`,
  'Memory: process max RSS after loading / after a prefill of the full context (1024 tokens), in a fresh process per variant.',
  '"same tokens" compares the first held-out example of each generative task with the shipped decoder (greedy and sampled tokens alike, same seed).',
  '',
  markdownTable(['variant', 'decoder size', 'decode tokens/s (t2i)', 'RSS loaded / peak', 'same tokens as shipped'], sizeRows),
  '',
  ...variants.filter((v) => VARIANTS[v]).map((v) => {
    const r = convertRecord(v);
    return `- ${v}: converted in ${r.seconds.toFixed(1)} s, peak conversion buffers ${(r.peakBufferBytes / 1e6).toFixed(1)} MB, fp16 overflow ${r.overflow.length} tensors.`;
  }),
  '',
  `Generative tasks (held-out seeds 0…${count - 1}, story 0…${2 * count - 1}), judged as bench:tasks; ± is one standard error:`,
  '',
  markdownTable(['variant', 'task', 'examples', 'well formed', 'images agreeing', 'examples fully right'], taskRows),
  '',
  `Planner suites through the shipped closed loop (held-out, ${episodes} episodes per suite), as bench:planners:`,
  '',
  markdownTable(['variant', 'suite', 'episodes', 'success', 'keyframe agreement', 'plan latency p50 (ms)'], plannerRows),
].join('\n');
mkdirSync(out, { recursive: true });
writeBenchmarkSection('Quantized decoders (bench:quant)', body);
console.log(body);
