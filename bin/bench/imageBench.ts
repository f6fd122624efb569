/**
 * `npm run bench:images [-- --count N] [--seed S] [--timing N]`
 *
 * Image decoding schemes side by side, in one run, on emu-nano's held-out examples (its presets decode
 * with Jacobi, window 16, chosen by this bench; `sequential` forces `parallel: 'none'`):
 * - forward passes per image token (image token = code, EOL or EOI; `usage.forwardPasses.image / imageTokens`);
 * - wall time per t2i image at 1 and 2 ORT threads (the first `--timing` examples, each run twice, best kept);
 * - the judged figures of `bench:tasks` (t2i, x2i, story) per scheme, with the standard error of the
 *   difference to sequential decoding, and token identity to sequential (greedy presets);
 * - the VLA keyframes: passes per image token and token identity to sequential;
 * under the model's own presets (greedy image tokens) and under sampling (image top-k 20), because the
 * real Emu3.5 samples its images (top-k 5120–10240, CFG 3).
 * Then the host cost per accepted image token at Emu3.5's 282,926-id vocabulary (a tiny random-weight
 * model with Emu3.5's t2i preset: CFG 5, image top-k 5120).
 * Writes the `## Image decoding` section of docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';
import type { SamplingOverrides } from '../../sdk/generation/TaskRequest.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { collect } from '../../sdk/tasks.ts';
import { ProgressBar } from '../cli/ProgressBar.ts';
import { evaluateTask, type GenerativeTask, type TaskEvalReport } from '../../sim/eval/evaluateTasks.ts';
import { renderLayout } from '../../sim/render/renderLayout.ts';
import { makeTaskExample } from '../../sim/tasks/taskExamples.ts';
import { buildTinyModel } from '../../test/kit/buildTinyModel.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '40' }, seed: { type: 'string', default: '0' }, timing: { type: 'string', default: '10' } } });
const args = z.object({ count: z.coerce.number().int().positive(), seed: z.coerce.number().int().nonnegative(), timing: z.coerce.number().int().positive() }).parse(values);

interface Scheme {
  name: string;
  mode: 'preset' | 'sampled';
  sampling: SamplingOverrides;
}
const SAMPLED = { topK: 20, topP: 1, temperature: 1 };
const SCHEMES: Scheme[] = [
  { name: 'sequential', mode: 'preset', sampling: { image: { parallel: 'none' } } },
  { name: 'jacobi, window 4', mode: 'preset', sampling: { image: { parallel: 'jacobi', draftWindow: 4 } } },
  { name: 'jacobi, window 16', mode: 'preset', sampling: { image: { parallel: 'jacobi', draftWindow: 16 } } },
  { name: 'sequential', mode: 'sampled', sampling: { image: { ...SAMPLED, parallel: 'none' } } },
  { name: 'jacobi, window 16', mode: 'sampled', sampling: { image: { ...SAMPLED, parallel: 'jacobi', draftWindow: 16 } } },
];
const TASKS: GenerativeTask[] = ['t2i', 'x2i', 'story'];
const label = (s: Scheme) => `${s.name} (${s.mode === 'preset' ? 'presets, greedy images' : 'image top-k 20'})`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

const backends = { 1: await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 1 }), 2: await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 2 }) };

/** Passes and tokens of image grids over a report's examples. */
const imageRate = (usages: { forwardPasses: { image?: number }; imageTokens?: number }[]) => {
  const passes = usages.reduce((s, u) => s + (u.forwardPasses.image ?? 0), 0);
  const tokens = usages.reduce((s, u) => s + (u.imageTokens ?? 0), 0);
  return { passes, tokens, rate: passes / Math.max(1, tokens) };
};

/** Best-of-two wall time of t2i examples, per image. */
async function t2iWallMs(backend: OnnxBackend, sampling: SamplingOverrides): Promise<number> {
  let total = 0;
  for (let i = 0; i < args.timing; i++) {
    const example = makeTaskExample('t2i', 'heldout', args.seed + i);
    let best = Infinity;
    for (let k = 0; k < 2; k++) {
      const t = performance.now();
      await collect(backend.generate({ task: 't2i', prompt: example.instruction, images: [], seed: args.seed + i, sampling }));
      best = Math.min(best, performance.now() - t);
    }
    total += best;
  }
  return total / args.timing;
}

/** VLA keyframes on held-out examples: tokens per example and their image usage. */
async function vlaRun(sampling: SamplingOverrides) {
  const out: { tokens: number[]; usage: Awaited<ReturnType<typeof collect>>['usage'] }[] = [];
  for (let i = 0; i < args.count; i++) {
    const example = makeTaskExample('vla', 'heldout', args.seed + i);
    const r = await collect(backends[1].generate({ task: 'vla', prompt: example.instruction, images: example.inputs.map((l) => renderLayout(l)), seed: args.seed + i, sampling }));
    out.push({ tokens: r.tokens, usage: r.usage });
  }
  return out;
}

const reports = new Map<Scheme, Map<GenerativeTask, TaskEvalReport>>();
const vla = new Map<Scheme, Awaited<ReturnType<typeof vlaRun>>>();
const wall = new Map<Scheme, { 1: number; 2: number }>();
for (const scheme of SCHEMES) {
  const perTask = new Map<GenerativeTask, TaskEvalReport>();
  for (const task of TASKS) {
    const bar = new ProgressBar(`${label(scheme)} ${task}`);
    perTask.set(task, await evaluateTask(backends[1], { task, count: args.count, seed: args.seed, sampling: scheme.sampling, onProgress: (d, t) => bar.update(d, t) }));
  }
  reports.set(scheme, perTask);
  vla.set(scheme, await vlaRun(scheme.sampling));
  wall.set(scheme, { 1: await t2iWallMs(backends[1], scheme.sampling), 2: await t2iWallMs(backends[2], scheme.sampling) });
}
await backends[1].close();
await backends[2].close();

const baselineOf = (s: Scheme) => SCHEMES.find((b) => b.mode === s.mode && b.name === 'sequential')!;
const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

const speedRows = SCHEMES.map((s) => {
  const usages = [...reports.get(s)!.values()].flatMap((r) => r.results.map((x) => x.usage));
  const all = imageRate(usages);
  const v = imageRate(vla.get(s)!.map((x) => x.usage));
  const base = wall.get(baselineOf(s))!;
  const w = wall.get(s)!;
  return [label(s), all.rate.toFixed(3), v.rate.toFixed(3), w[1].toFixed(1), w[2].toFixed(1), `${(base[1] / w[1]).toFixed(2)}× / ${(base[2] / w[2]).toFixed(2)}×`];
});

/** Image agreement and fully-right rates, with the standard error of the difference to sequential. */
const judgedRows = SCHEMES.flatMap((s) =>
  TASKS.map((task) => {
    const r = reports.get(s)!.get(task)!;
    const b = reports.get(baselineOf(s))!.get(task)!;
    const images = r.results.reduce((n, x) => n + x.judgement.images, 0);
    const bImages = b.results.reduce((n, x) => n + x.judgement.images, 0);
    const se = Math.sqrt((r.imageAgreementRate * (1 - r.imageAgreementRate)) / Math.max(1, images) + (b.imageAgreementRate * (1 - b.imageAgreementRate)) / Math.max(1, bImages));
    const identical = r.results.filter((x, i) => same(tokensOf(x), tokensOf(b.results[i]!))).length;
    return [label(s), task, pct(r.wellFormedRate), pct(r.imageAgreementRate), `${((r.imageAgreementRate - b.imageAgreementRate) * 100).toFixed(1)} ± ${(se * 100).toFixed(1)}`, pct(r.exampleSuccessRate), s.mode === 'preset' ? `${identical}/${r.results.length}` : '–'];
  }),
);
function tokensOf(x: { output: { type: string; text?: string; codes?: number[] }[] }): number[] {
  // The judged output, flattened: texts as char codes, images as codes (identity of what the user gets).
  return x.output.flatMap((o) => (o.type === 'text' ? [...(o.text ?? '')].map((c) => c.charCodeAt(0)) : [-1, ...(o.codes ?? []), -2]));
}
const vlaRows = SCHEMES.filter((s) => s.mode === 'preset').map((s) => {
  const b = vla.get(baselineOf(s))!;
  const runs = vla.get(s)!;
  return [label(s), runs.length, `${runs.filter((r, i) => same(r.tokens, b[i]!.tokens)).length}/${runs.length}`, imageRate(runs.map((r) => r.usage)).rate.toFixed(3)];
});

// Host cost at Emu3.5's vocabulary: a tiny random model with Emu3.5's t2i preset (CFG 5, image top-k 5120).
const tinyDir = mkdtempSync(path.join(os.tmpdir(), 'emu-bench-images-'));
const tinyRows: (string | number)[][] = [];
try {
  // Random weights rarely open an image on their own: a bias on BOI starts one at once.
  const boi = (await buildTinyModel(path.join(tinyDir, 'probe'), { vocab: 'emu35', seed: 2 })).manifest.vocab.ids.boi;
  const tiny = await buildTinyModel(path.join(tinyDir, 'm'), { vocab: 'emu35', seed: 2, logitBias: { [boi]: 30 } });
  const backend = await OnnxBackend.load(tiny.dir, { threads: 1 });
  for (const s of [{ name: 'sequential', sampling: { image: { parallel: 'none' as const } } }, { name: 'jacobi, window 16', sampling: { image: { parallel: 'jacobi' as const, draftWindow: 16 } } }]) {
    let passes = 0;
    let tokens = 0;
    let ms = 0;
    let hostMs = 0;
    for (let seed = 0; seed < 5; seed++) {
      const r = await collect(backend.generate({ task: 't2i', prompt: 'a red block', images: [], seed, grid: [8, 8], sampling: s.sampling }));
      passes += r.usage.forwardPasses.image ?? 0;
      tokens += r.usage.imageTokens ?? 0;
      ms += r.usage.timings.decodeMs;
      hostMs += r.usage.timings.samplingMs ?? 0;
    }
    tinyRows.push([s.name, tokens, (passes / tokens).toFixed(3), (hostMs / tokens).toFixed(2), (ms / tokens).toFixed(2)]);
  }
  await backend.close();
} finally {
  rmSync(tinyDir, { recursive: true, force: true });
}

const body = [
  `Command: \`npm run bench:images${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (bin/bench/imageBench.ts). ${machineLine()}`,
  `emu-nano, held-out seeds ${args.seed}…${args.seed + args.count - 1} per task; judged by the simulator as in bench:tasks. Image token = visual code, EOL or EOI (73 per 8×8 image); sequential decoding takes one forward pass per image token.`,
  '',
  markdownTable(['scheme', 'passes per image token (t2i, x2i, story)', 'passes per image token (VLA keyframes)', `t2i ms per image, 1 thread (best of 2, ${args.timing} examples)`, 't2i ms per image, 2 threads', 'speed-up vs sequential (1 / 2 threads)'], speedRows),
  '',
  'Judged figures per scheme (image agreement Δ vs the same mode\'s sequential decoding, ± its standard error; identical: examples whose output equals sequential decoding\'s):',
  '',
  markdownTable(['scheme', 'task', 'well formed', 'images agreeing', 'Δ agreeing (points)', 'examples fully right', 'identical'], judgedRows),
  '',
  'VLA keyframes (the plan\'s predicted frames), presets: token identity with sequential decoding, so every planner figure is unchanged:',
  '',
  markdownTable(['scheme', 'examples', 'identical tokens', 'passes per image token'], vlaRows),
  '',
  "Host cost at Emu3.5's vocabulary (282,926 ids): a tiny random-weight model with the t2i preset of `test/kit/tinyTaskConfigs.ts` (Emu3.5's: CFG 5, image top-k 5120), 5 images of 8×8. Host ms = processors, CFG, warpers and sampling (usage.timings.samplingMs) per accepted image token; decode ms adds the forward passes, whose [S, 282,926] logits dominate at this model's hidden size of 16 (at 34B the head is ~2% of a row's work):",
  '',
  markdownTable(['scheme', 'image tokens', 'passes per image token', 'host ms per image token', 'decode ms per image token (forwards included)'], tinyRows),
].join('\n');
writeBenchmarkSection('Image decoding', body);
console.log(body);
