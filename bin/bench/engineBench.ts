/**
 * `npm run bench:engine`: engine vs a bare ORT loop, KV cache vs recompute, and the host cost of the
 * image-token sampling path at Emu3.5's vocabulary. Writes the `## Engine` section of docs/benchmarks.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { CausalLm } from '../../sdk/generation/CausalLm.ts';
import { GenerationLoop, type LoopIds } from '../../sdk/generation/GenerationLoop.ts';
import type { GenerationEvent } from '../../sdk/generation/GenerationEvent.ts';
import { EMU35_GRAMMAR_IDS } from '../../sdk/generation/GrammarIds.ts';
import { mulberry32 } from '../../sdk/generation/mulberry32.ts';
import type { SamplingPreset } from '../../sdk/model/ModelManifest.ts';
import { DecoderSession } from '../../sdk/runtime/DecoderSession.ts';
import { buildTinyModel, emu35SpecialIds } from '../../test/kit/index.ts';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';

const SPECIAL_START = 280;

interface Row {
  name: string;
  value: string;
  target?: string;
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'emu-bench-'));
  const rows: Row[] = [];
  try {
    rows.push(...(await engineVsBare(tmp)));
    rows.push(...(await kvVsRecompute(tmp)));
    rows.push(...(await samplingPath()));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  writeSection(rows);
  for (const r of rows) console.log(`${r.name}: ${r.value}${r.target ? `  (target ${r.target})` : ''}`);
}

const ids = emu35SpecialIds(SPECIAL_START);

function loopIds(vocabSize: number, visualOffset: number): LoopIds {
  return {
    boi: ids.boi, eoi: ids.eoi, img: ids.img, eol: ids.eol, eos: ids.eos, bog: ids.bog, eog: ids.eog, boc: ids.boc, eoc: ids.eoc,
    hidden: [ids.ess, ids.eos], digits: [48, 49, 50, 51, 52, 53, 54, 55, 56, 57], star: 42, visualOffset, vocabSize,
  };
}

const greedy = (maxNewTokens: number): SamplingPreset => ({
  cfg: 1,
  text: { topK: 1, topP: 1, temperature: 1 },
  image: { topK: 1, topP: 1, temperature: 1 },
  maxNewTokens,
  imageArea: 1024,
});

async function runLoop(cond: CausalLm, prompt: number[], vocab: number, visualOffset: number, n: number): Promise<number[]> {
  let tokens: number[] = [];
  const loop = new GenerationLoop({
    task: 'story', cond, condPrompt: prompt, uncondPrompt: [], ids: loopIds(vocab, visualOffset), sampling: greedy(n), seed: 1, stopAtEoi: false,
    decodeText: () => '', parseOutput: () => [],
  });
  await loop.run(new AbortController().signal, (e: GenerationEvent) => {
    if (e.type === 'done') tokens = e.tokens;
  });
  return tokens;
}

/** Same model, same tokens: the engine (greedy) vs raw session.run + argmax, prefill + N steps each. */
async function engineVsBare(tmp: string): Promise<Row[]> {
  const N = 200;
  const m = await buildTinyModel(path.join(tmp, 'a'), { layers: 4, hidden: 256, queryHeads: 8, kvHeads: 4, headDim: 32, seed: 1, logitBias: { [ids.eos]: -100, [ids.boi]: -100 } });
  const spec = m.manifest.decoder;
  const vocab = m.manifest.vocab.size;
  const session = await DecoderSession.openSession(path.join(m.dir, spec.file), spec, vocab, { threads: 1 });
  const prompt = Array.from({ length: 16 }, (_, i) => 100 + i);
  const engine = () => runLoop(new DecoderSession(session, spec, vocab), prompt, vocab, m.manifest.vocab.visualOffset, N);
  const tokens = await engine(); // also the warm-up
  const bare = async () => {
    let past: Record<string, ort.Tensor> = {};
    for (let i = 0; i < spec.numLayers; i++) {
      past[`past_key_values.${i}.key`] = new ort.Tensor('float32', new Float32Array(0), [1, spec.numKvHeads, 0, spec.headDim]);
      past[`past_key_values.${i}.value`] = new ort.Tensor('float32', new Float32Array(0), [1, spec.numKvHeads, 0, spec.headDim]);
    }
    let input = prompt;
    let p = 0;
    for (let step = 0; step < N; step++) {
      const s = input.length;
      const out = await session.run({
        ...past,
        input_ids: new ort.Tensor('int64', BigInt64Array.from(input, BigInt), [1, s]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(p + s).fill(1n), [1, p + s]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: s }, (_, i) => BigInt(p + i)), [1, s]),
      });
      const logits = (out.logits!.data as Float32Array).subarray((s - 1) * vocab);
      let best = 0;
      for (let i = 1; i < vocab; i++) if (logits[i]! > logits[best]!) best = i;
      void best;
      past = {};
      for (let i = 0; i < spec.numLayers; i++) {
        past[`past_key_values.${i}.key`] = out[`present.${i}.key`]!;
        past[`past_key_values.${i}.value`] = out[`present.${i}.value`]!;
      }
      p += s;
      input = [tokens[step]!];
    }
  };
  await bare(); // warm-up
  // Alternate the two (and which goes first), best of 9 each, so neither gains from its slot (9, not 5:
  // on a shared 2-core machine a best of 5 still swung the ratio by ±8 points between runs).
  let engineS = Infinity;
  let bareS = Infinity;
  const timeEngine = async () => {
    const t = performance.now();
    const again = await engine();
    engineS = Math.min(engineS, (performance.now() - t) / 1000);
    if (again.join() !== tokens.join()) throw new Error('engine is not deterministic');
  };
  const timeBare = async () => {
    const t = performance.now();
    await bare();
    bareS = Math.min(bareS, (performance.now() - t) / 1000);
  };
  for (let r = 0; r < 9; r++) {
    if (r % 2) {
      await timeBare();
      await timeEngine();
    } else {
      await timeEngine();
      await timeBare();
    }
  }
  await session.release();
  const e = N / engineS;
  const b = N / bareS;
  return [
    { name: `engine, greedy, tiny decoder (4 layers, d=256, vocab ${vocab}), ${N} tokens`, value: `${e.toFixed(0)} tok/s` },
    { name: 'bare ORT loop (session.run + argmax), same model, same tokens', value: `${b.toFixed(0)} tok/s` },
    { name: 'engine / bare', value: `${((e / b) * 100).toFixed(0)} %`, target: '≥ 95 %' },
  ];
}

/** Per-token decode with the KV cache vs re-running the whole sequence every step. */
async function kvVsRecompute(tmp: string): Promise<Row[]> {
  const N = 96;
  const m = await buildTinyModel(path.join(tmp, 'b'), { layers: 4, hidden: 256, queryHeads: 8, kvHeads: 4, headDim: 32, seed: 2 });
  const spec = m.manifest.decoder;
  const vocab = m.manifest.vocab.size;
  const session = await DecoderSession.openSession(path.join(m.dir, spec.file), spec, vocab, { threads: 1 });
  const ids = Array.from({ length: 32 + N }, (_, i) => 100 + (i % 150));
  const cached = new DecoderSession(session, spec, vocab);
  let t = performance.now();
  await cached.prefill(ids.slice(0, 32));
  for (const id of ids.slice(32)) await cached.step(id);
  const kvS = (performance.now() - t) / 1000;
  const fresh = new DecoderSession(session, spec, vocab);
  t = performance.now();
  for (let n = 32; n <= ids.length; n++) await fresh.prefill(ids.slice(0, n));
  const reS = (performance.now() - t) / 1000;
  await session.release();
  return [
    { name: `KV cache, 32-token prompt + ${N} steps`, value: `${(N / kvS).toFixed(0)} tok/s` },
    { name: 'full recompute every step, same tokens', value: `${(N / reS).toFixed(0)} tok/s (×${(reS / kvS).toFixed(1)} slower)` },
  ];
}

/** Host time per image token: 282,926 logits per stream, CFG with two streams, top-k 10240, top-p 1. */
async function samplingPath(): Promise<Row[]> {
  const V = EMU35_GRAMMAR_IDS.vocabSize;
  const bank = Array.from({ length: 6 }, (_, j) => {
    const r = mulberry32(j + 1);
    const a = new Float32Array(V);
    for (let i = 0; i < V; i++) a[i] = (r() - 0.5) * 24;
    return a;
  });
  const first = new Float32Array(V).fill(-10);
  first[EMU35_GRAMMAR_IDS.boi] = 10;
  const synthetic = (): CausalLm & { forwardPasses: number } => {
    let k = 0;
    return { length: 0, forwardPasses: 0, async feed() { this.forwardPasses++; return this.forwardPasses === 1 ? first : bank[k++ % bank.length]!; } };
  };
  const rows = 32, cols = 32;
  const run = async () => {
    const loop = new GenerationLoop({
      task: 't2i', cond: synthetic(), uncond: synthetic(), condPrompt: [1, 2, 3], uncondPrompt: [1, 2], seed: 1, stopAtEoi: true, fixedGrid: { rows, cols },
      ids: { ...EMU35_GRAMMAR_IDS, eos: 151850, bog: 151706, eog: 151707, boc: 151696, eoc: 151697, hidden: [151747, 151850] },
      sampling: { cfg: 3, text: { topK: 1024, topP: 0.9, temperature: 1 }, image: { topK: 10240, topP: 1, temperature: 1 }, maxNewTokens: 5000, imageArea: 1 },
      decodeText: () => '', parseOutput: () => [],
    });
    let n = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await loop.run(new AbortController().signal, (e) => {
      if (e.type === 'done') n = e.tokens.filter((t) => t >= EMU35_GRAMMAR_IDS.visualOffset).length;
    });
    const cpu = process.cpuUsage(c0);
    return { wall: (performance.now() - t0) / n, cpu: (cpu.user + cpu.system) / 1000 / n, n };
  };
  await run(); // warm-up (JIT)
  const results = [await run(), await run(), await run()];
  const best = results.reduce((a, b) => (a.wall < b.wall ? a : b));
  const bestCpu = Math.min(...results.map((r) => r.cpu));
  return [
    {
      name: `sampling path per image token (V=${V}, 2 streams, CFG 3, top-k 10240, top-p 1; ${best.n} sampled tokens, best of 3)`,
      value: `${best.wall.toFixed(2)} ms wall, ${bestCpu.toFixed(2)} ms CPU`,
      target: '≤ 2 ms',
    },
  ];
}

function writeSection(rows: Row[]): void {
  const body = [
    `Command: \`npm run bench:engine\` (bin/bench/engineBench.ts). ${machineLine()} ORT intra-op threads: 1.`,
    '',
    markdownTable(['measure', 'result', 'target'], rows.map((r) => [r.name, r.value, r.target ?? ''])),
    '',
    'Notes: the sampling-path row feeds precomputed random logits (no model), so it is pure host time: CFG over the',
    'visual range (the constant log-softmax normalisers are skipped: everything after CFG is shift-invariant), top-k by',
    'sampled lower bound + one collecting pass + quickselect, softmax over the survivors, one draw. Wall time depends on',
    'what else the 2 cores run; the CPU column is this process only.',
  ].join('\n');
  writeBenchmarkSection('Engine', body);
}

await main();
