/**
 * `npm run bench:images [-- --count N] [--seed S] [--timing N]`
 *
 * Image decoding schemes side by side, in one run, on emu-nano's held-out examples:
 * - forward passes per image token (image token = code, EOL or EOI; `usage.forwardPasses.image / imageTokens`,
 *   both guidance streams counted, a batch-2 pass once);
 * - wall time per t2i image at 1 and 2 ORT threads (the first `--timing` examples, best of 3, every scheme
 *   interleaved example by example so the machine's drift falls on all alike);
 * - the judged figures of `bench:tasks` (t2i, x2i, story) per scheme, with the standard error of the
 *   difference to the same mode's sequential decoding, and token identity to it (greedy or sampled: image
 *   codes are drawn with noise fixed by grid position, so an exact scheme gives sequential decoding's tokens);
 * - the VLA keyframes: passes per image token and token identity.
 * Four modes: the model's own presets (cfg 1, greedy images); image top-k 20; and both again with
 * guidance forced on (cfg 3), as the real Emu3.5 runs (CFG 3, top-k 5120–10240): there batched guidance
 * (both streams as one batch-2 pass) is compared with the two streams run separately.
 * Every scheme runs on emu-nano converted by `emu convert decoder` (concat KV, with `key_positions`, which
 * ZipAR needs; the same tokens as the shipped decoder.onnx, tested in convertNano.test.ts), so all rows
 * share one graph; one reference row times the shipped decoder.onnx.
 * Then the host cost per accepted image token at Emu3.5's 282,926-id vocabulary (a tiny random-weight
 * model with Emu3.5's t2i preset: CFG 5, image top-k 5120).
 * Writes the `## Image decoding` section of docs/benchmarks.md.
 */
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';
import { convertDecoder } from '../../sdk/convert/convertDecoder.ts';
import type { SamplingOverrides } from '../../sdk/generation/TaskRequest.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { collect } from '../../sdk/tasks.ts';
import { ProgressBar } from '../cli/ProgressBar.ts';
import { evaluateTask, type GenerativeTask, type TaskEvalReport } from '../../sim/eval/evaluateTasks.ts';
import { renderLayout } from '../../sim/render/renderLayout.ts';
import { makeTaskExample } from '../../sim/tasks/taskExamples.ts';
import { buildTinyModel } from '../../test/kit/buildTinyModel.ts';
import { nanoShape, writeNanoAsEmu3Checkpoint } from '../../training/nanoCheckpoint.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '40' }, seed: { type: 'string', default: '0' }, timing: { type: 'string', default: '10' } } });
const args = z.object({ count: z.coerce.number().int().positive(), seed: z.coerce.number().int().nonnegative(), timing: z.coerce.number().int().positive() }).parse(values);

type Mode = 'preset' | 'sampled' | 'guided' | 'guided-sampled';
interface Scheme {
  name: string;
  mode: Mode;
  sampling: SamplingOverrides;
  /** Run the guidance streams as two separate passes (the baseline of the guided modes). */
  separate?: boolean;
}
const SAMPLED = { topK: 20, topP: 1, temperature: 1 };
const JACOBI = { parallel: 'jacobi', draftWindow: 16 } as const;
const ZIPAR = (rowWindow: number) => ({ parallel: 'zipar', rowWindow }) as const;
const SCHEMES: Scheme[] = [
  { name: 'sequential', mode: 'preset', sampling: { image: { parallel: 'none' } } },
  { name: 'jacobi, window 4', mode: 'preset', sampling: { image: { parallel: 'jacobi', draftWindow: 4 } } },
  { name: 'jacobi, window 16', mode: 'preset', sampling: { image: JACOBI } },
  { name: 'zipar, row window 2', mode: 'preset', sampling: { image: ZIPAR(2) } },
  { name: 'zipar, row window 4', mode: 'preset', sampling: { image: ZIPAR(4) } },
  { name: 'sequential', mode: 'sampled', sampling: { image: { ...SAMPLED, parallel: 'none' } } },
  { name: 'jacobi, window 16', mode: 'sampled', sampling: { image: { ...SAMPLED, ...JACOBI } } },
  { name: 'zipar, row window 2', mode: 'sampled', sampling: { image: { ...SAMPLED, ...ZIPAR(2) } } },
  { name: 'sequential, separate streams', mode: 'guided', separate: true, sampling: { cfg: 3, image: { parallel: 'none' } } },
  { name: 'sequential, batched guidance', mode: 'guided', sampling: { cfg: 3, image: { parallel: 'none' } } },
  { name: 'jacobi w16, separate streams', mode: 'guided', separate: true, sampling: { cfg: 3, image: JACOBI } },
  { name: 'jacobi w16, batched guidance', mode: 'guided', sampling: { cfg: 3, image: JACOBI } },
  { name: 'zipar w2, batched guidance', mode: 'guided', sampling: { cfg: 3, image: ZIPAR(2) } },
  { name: 'sequential, separate streams', mode: 'guided-sampled', separate: true, sampling: { cfg: 3, image: { ...SAMPLED, parallel: 'none' } } },
  { name: 'jacobi w16, batched guidance', mode: 'guided-sampled', sampling: { cfg: 3, image: { ...SAMPLED, ...JACOBI } } },
  { name: 'zipar w2, batched guidance', mode: 'guided-sampled', sampling: { cfg: 3, image: { ...SAMPLED, ...ZIPAR(2) } } },
];
const MODE_LABEL: Record<Mode, string> = { preset: 'presets: cfg 1, greedy images', sampled: 'cfg 1, image top-k 20', guided: 'cfg 3, greedy images', 'guided-sampled': 'cfg 3, image top-k 20' };
const TASKS: GenerativeTask[] = ['t2i', 'x2i', 'story'];
const label = (s: Scheme) => `${s.name} (${MODE_LABEL[s.mode]})`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

// emu-nano through `emu convert decoder` (its own weights as an Emu3.5-format checkpoint): the graph with key_positions.
const work = mkdtempSync(path.join(os.tmpdir(), 'emu-bench-images-'));
const convertedDir = path.join(work, 'nano-converted');
writeNanoAsEmu3Checkpoint(path.join(DEFAULT_MODEL_DIR, 'decoder.onnx'), nanoShape(DEFAULT_MODEL_DIR), path.join(work, 'checkpoint'));
convertDecoder({ from: path.join(work, 'checkpoint'), to: convertedDir, manifest: path.join(DEFAULT_MODEL_DIR, 'emu-model.json') });
for (const f of ['vision_encoder.onnx', 'vision_decoder.onnx']) if (!existsSync(path.join(convertedDir, f))) symlinkSync(path.resolve(DEFAULT_MODEL_DIR, f), path.join(convertedDir, f));
const load = (threads: number, batchGuidance = true) => OnnxBackend.load(convertedDir, { threads, batchGuidance });
const backends = { 1: await load(1), 2: await load(2) };
const separateBackends = { 1: await load(1, false), 2: await load(2, false) };
const pick = (s: Scheme) => (s.separate ? separateBackends : backends);

/** Passes and tokens of image grids over a report's examples. */
const imageRate = (usages: { forwardPasses: { image?: number }; imageTokens?: number }[]) => {
  const passes = usages.reduce((s, u) => s + (u.forwardPasses.image ?? 0), 0);
  const tokens = usages.reduce((s, u) => s + (u.imageTokens ?? 0), 0);
  return { passes, tokens, rate: passes / Math.max(1, tokens) };
};

/**
 * Wall time per t2i image for every (backend, sampling) entry, interleaved: each example runs on every
 * entry in turn (best of 3 each), so the machine's drift over the run falls on all entries alike.
 */
async function t2iWallMs(entries: { backend: OnnxBackend; sampling: SamplingOverrides }[]): Promise<number[]> {
  const totals = entries.map(() => 0);
  for (let i = 0; i < args.timing; i++) {
    const example = makeTaskExample('t2i', 'heldout', args.seed + i);
    for (const [j, e] of entries.entries()) {
      let best = Infinity;
      for (let k = 0; k < 3; k++) {
        const t = performance.now();
        await collect(e.backend.generate({ task: 't2i', prompt: example.instruction, images: [], seed: args.seed + i, sampling: e.sampling }));
        best = Math.min(best, performance.now() - t);
      }
      totals[j]! += best;
    }
  }
  return totals.map((t) => t / args.timing);
}

/** VLA keyframes on held-out examples: tokens per example and their image usage. */
async function vlaRun(backend: OnnxBackend, sampling: SamplingOverrides) {
  const out: { tokens: number[]; usage: Awaited<ReturnType<typeof collect>>['usage'] }[] = [];
  for (let i = 0; i < args.count; i++) {
    const example = makeTaskExample('vla', 'heldout', args.seed + i);
    const r = await collect(backend.generate({ task: 'vla', prompt: example.instruction, images: example.inputs.map((l) => renderLayout(l)), seed: args.seed + i, sampling }));
    out.push({ tokens: r.tokens, usage: r.usage });
  }
  return out;
}

const reports = new Map<Scheme, Map<GenerativeTask, TaskEvalReport>>();
const vla = new Map<Scheme, Awaited<ReturnType<typeof vlaRun>>>();
const wall = new Map<Scheme, { 1: number; 2: number }>();
const shippedWall = { 1: 0, 2: 0 };
for (const scheme of SCHEMES) {
  const perTask = new Map<GenerativeTask, TaskEvalReport>();
  const b = pick(scheme);
  for (const task of TASKS) {
    const bar = new ProgressBar(`${label(scheme)} ${task}`);
    perTask.set(task, await evaluateTask(b[1], { task, count: args.count, seed: args.seed, sampling: scheme.sampling, onProgress: (d, t) => bar.update(d, t) }));
  }
  reports.set(scheme, perTask);
  vla.set(scheme, await vlaRun(b[1], scheme.sampling));
}
// Wall time, every scheme at 1 and 2 threads interleaved; the shipped decoder.onnx (torch export),
// sequential, beside them: the converted graph's speed against it.
const shipped = { 1: await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 1 }), 2: await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 2 }) };
{
  const bar = new ProgressBar('wall time (interleaved)');
  const entries = [...SCHEMES.flatMap((s) => [1, 2].map((t) => ({ backend: pick(s)[t as 1 | 2], sampling: s.sampling }))), { backend: shipped[1], sampling: SCHEMES[0]!.sampling }, { backend: shipped[2], sampling: SCHEMES[0]!.sampling }];
  bar.update(0, 1);
  const ms = await t2iWallMs(entries);
  bar.update(1, 1);
  SCHEMES.forEach((s, i) => wall.set(s, { 1: ms[2 * i]!, 2: ms[2 * i + 1]! }));
  shippedWall[1] = ms.at(-2)!;
  shippedWall[2] = ms.at(-1)!;
}
for (const b of [backends, separateBackends, shipped]) await Promise.all([b[1].close(), b[2].close()]);
rmSync(work, { recursive: true, force: true });

const baselineOf = (s: Scheme) => SCHEMES.find((b) => b.mode === s.mode && b.name.startsWith('sequential'))!;
const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

const speedRows = SCHEMES.map((s) => {
  const usages = [...reports.get(s)!.values()].flatMap((r) => r.results.map((x) => x.usage));
  const all = imageRate(usages);
  const v = imageRate(vla.get(s)!.map((x) => x.usage));
  const base = wall.get(baselineOf(s))!;
  const w = wall.get(s)!;
  return [label(s), all.rate.toFixed(3), v.rate.toFixed(3), w[1].toFixed(1), w[2].toFixed(1), `${(base[1] / w[1]).toFixed(2)}× / ${(base[2] / w[2]).toFixed(2)}×`];
});
speedRows.push(['sequential, shipped decoder.onnx (presets)', '1.000', '1.000', shippedWall[1].toFixed(1), shippedWall[2].toFixed(1), '(reference)']);

/** Image agreement and fully-right rates, with the standard error of the difference to sequential. */
const judgedRows = SCHEMES.flatMap((s) =>
  TASKS.map((task) => {
    const r = reports.get(s)!.get(task)!;
    const b = reports.get(baselineOf(s))!.get(task)!;
    const images = r.results.reduce((n, x) => n + x.judgement.images, 0);
    const bImages = b.results.reduce((n, x) => n + x.judgement.images, 0);
    const se = Math.sqrt((r.imageAgreementRate * (1 - r.imageAgreementRate)) / Math.max(1, images) + (b.imageAgreementRate * (1 - b.imageAgreementRate)) / Math.max(1, bImages));
    const identical = r.results.filter((x, i) => same(tokensOf(x), tokensOf(b.results[i]!))).length;
    return [label(s), task, pct(r.wellFormedRate), pct(r.imageAgreementRate), `${((r.imageAgreementRate - b.imageAgreementRate) * 100).toFixed(1)} ± ${(se * 100).toFixed(1)}`, pct(r.exampleSuccessRate), `${identical}/${r.results.length}`];
  }),
);
function tokensOf(x: { output: { type: string; text?: string; codes?: number[] }[] }): number[] {
  // The judged output, flattened: texts as char codes, images as codes (identity of what the user gets).
  return x.output.flatMap((o) => (o.type === 'text' ? [...(o.text ?? '')].map((c) => c.charCodeAt(0)) : [-1, ...(o.codes ?? []), -2]));
}
const vlaRows = SCHEMES.map((s) => {
  const b = vla.get(baselineOf(s))!;
  const runs = vla.get(s)!;
  return [label(s), runs.length, `${runs.filter((r, i) => same(r.tokens, b[i]!.tokens)).length}/${runs.length}`, imageRate(runs.map((r) => r.usage)).rate.toFixed(3)];
});

// Host cost at Emu3.5's vocabulary: a tiny random model with Emu3.5's t2i preset (CFG 5, image top-k 5120).
const tinyDir = mkdtempSync(path.join(os.tmpdir(), 'emu-bench-images-'));
const tinyRows: (string | number)[][] = [];
const tinyBaseline: number[][] = [];
try {
  // Random weights rarely open an image on their own: a bias on BOI starts one at once.
  const boi = (await buildTinyModel(path.join(tinyDir, 'probe'), { vocab: 'emu35', seed: 2 })).manifest.vocab.ids.boi;
  const tiny = await buildTinyModel(path.join(tinyDir, 'm'), { vocab: 'emu35', seed: 2, logitBias: { [boi]: 30 }, keyPositions: true });
  const tinyBackends = { batched: await OnnxBackend.load(tiny.dir, { threads: 1 }), separate: await OnnxBackend.load(tiny.dir, { threads: 1, batchGuidance: false }) };
  const rows = [
    { name: 'sequential, separate streams', backend: tinyBackends.separate, image: { parallel: 'none' as const } },
    { name: 'sequential, batched guidance', backend: tinyBackends.batched, image: { parallel: 'none' as const } },
    { name: 'jacobi w16, batched guidance', backend: tinyBackends.batched, image: JACOBI },
    { name: 'zipar w2, batched guidance', backend: tinyBackends.batched, image: ZIPAR(2) },
  ];
  for (const s of rows) {
    let passes = 0;
    let tokens = 0;
    let ms = 0;
    let hostMs = 0;
    let identical = 0;
    for (let seed = 0; seed < 5; seed++) {
      const r = await collect(s.backend.generate({ task: 't2i', prompt: 'a red block', images: [], seed, grid: [8, 8], sampling: { maxNewTokens: 120, image: s.image } }));
      passes += r.usage.forwardPasses.image ?? 0;
      tokens += r.usage.imageTokens ?? 0;
      ms += r.usage.timings.decodeMs;
      hostMs += r.usage.timings.samplingMs ?? 0;
      if (s === rows[0]) tinyBaseline.push(r.tokens);
      identical += Number(same(r.tokens, tinyBaseline[seed]!));
    }
    tinyRows.push([s.name, tokens, (passes / tokens).toFixed(3), (hostMs / tokens).toFixed(2), (ms / tokens).toFixed(2), `${identical}/5`]);
  }
  await Promise.all([tinyBackends.batched.close(), tinyBackends.separate.close()]);
} finally {
  rmSync(tinyDir, { recursive: true, force: true });
}

const body = [
  `Command: \`npm run bench:images${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (bin/bench/imageBench.ts). ${machineLine()}`,
  `emu-nano (its weights through \`emu convert decoder\`: concat KV with key_positions, the shipped decoder.onnx's tokens), held-out seeds ${args.seed}…${args.seed + args.count - 1} per task; judged by the simulator as in bench:tasks. Image token = visual code, EOL or EOI (73 per 8×8 image); sequential decoding takes one forward pass per image token, two under guidance when the streams run separately, one when they run as a batch-2 pass.`,
  '',
  markdownTable(['scheme', 'passes per image token (t2i, x2i, story)', 'passes per image token (VLA keyframes)', `t2i ms per image, 1 thread (best of 3, ${args.timing} examples, interleaved)`, 't2i ms per image, 2 threads', 'speed-up vs sequential (1 / 2 threads)'], speedRows),
  '',
  'Judged figures per scheme (image agreement Δ vs the same mode\'s sequential decoding, ± its standard error; identical: examples whose output equals sequential decoding\'s; image codes are drawn with noise fixed by grid position, so under sampling too an exact scheme returns the same tokens):',
  '',
  markdownTable(['scheme', 'task', 'well formed', 'images agreeing', 'Δ agreeing (points)', 'examples fully right', 'identical'], judgedRows),
  '',
  'VLA keyframes (the plan\'s predicted frames): token identity with the same mode\'s sequential decoding (identical tokens leave every planner figure unchanged):',
  '',
  markdownTable(['scheme', 'examples', 'identical tokens', 'passes per image token'], vlaRows),
  '',
  "Host cost at Emu3.5's vocabulary (282,926 ids): a tiny random-weight model (with key_positions) with the t2i preset of `test/kit/tinyTaskConfigs.ts` (Emu3.5's: CFG 5, image top-k 5120), 5 images of 8×8 (sampled: top-k 5120). Host ms = processors, CFG, warpers and sampling (usage.timings.samplingMs) per accepted image token (budget: 1.2 ms, the sampling path's cost for two streams before this work; Jacobi caps its refinement at 1 ms per token, `HOST_MS_PER_TOKEN`); decode ms adds the forward passes, whose [S, 282,926] logits dominate at this model's hidden size of 16 (at 34B the head is ~2% of a row's work):",
  '',
  markdownTable(['scheme', 'image tokens', 'passes per image token', 'host ms per image token', 'decode ms per image token (forwards included)', 'same tokens as sequential'], tinyRows),
  '',
  'Where each scheme loses, and why:',
  '- Jacobi is exact (same tokens, so the same judged figures), and what it loses is passes where drafts die: a random-weight model (the 282,926-id row) keeps few, so it needs far more passes than on emu-nano, and each pass returns window + 1 rows of logits, which at this hidden size costs more than the passes save. Its host work per token is one draw, plus refined stale rows until draws reach 1 ms per token.',
  '- ZipAR draws a code before the end of the row above exists: exact only where the model is local. emu-nano\'s story images are edits of the previous frame whose changed slot is named by the narration, and a row that starts early cannot see where the edit lands in the row above, so story images lose most; t2i and x2i, whose rows follow from the prompt, lose less.',
  '- Batched guidance changes nothing in the tokens; on emu-nano it halves the passes but saves far less time, since a batch-2 pass of this small model costs well over one single pass (per-op overhead and two rows of work, not weight reads, dominate), while a 34B pass reads its weights once for both rows.',
].join('\n');
writeBenchmarkSection('Image decoding', body);
console.log(body);
