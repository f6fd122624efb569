/**
 * `npm run bench:tasks [-- --count N] [--seed S] [--model DIR] [--tasks t2i,x2i,...]`
 *
 * Each task runs on held-out seeds S…S+N−1 (S = 0). By default N is 40, and 160 for story: a story's only
 * input is the fixed instruction, so its examples differ only in the sampled narration, and on 40 of them the
 * agreement figure moves by several points between neighbouring checkpoints of the same run.
 *
 * The five generative tasks (t2i, x2i, story, howto, explore) of a model (emu-nano by default) on
 * held-out examples, through the SDK engine, judged by the simulator (sim/eval/judgeTaskOutput.ts).
 * Writes the `## Generative tasks` section of docs/benchmarks.md and, per task, the first examples
 * as export folders (text, PNGs, story.pb, index.html) under out/bench-tasks/<task>/<seed>/, and every
 * example's judgement and texts in out/bench-tasks/<task>/results.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { exportResult } from '../../sdk/output/exportFolder.ts';
import { ProgressBar } from '../cli/ProgressBar.ts';
import { agreementByImageKind, agreementByKind, disagreementReasons, evaluateTask, GENERATIVE_TASKS, textDiversity, x2iEditKind, type GenerativeTask } from '../../sim/eval/evaluateTasks.ts';
import { renderLayout } from '../../sim/render/renderLayout.ts';
import { makeTaskExample } from '../../sim/tasks/taskExamples.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string' },
    seed: { type: 'string', default: '0' },
    model: { type: 'string' },
    tasks: { type: 'string', default: GENERATIVE_TASKS.join(',') },
    out: { type: 'string', default: 'out/bench-tasks' },
    keep: { type: 'string', default: '3' },
  },
});
const Args = z.object({
  count: z.coerce.number().int().positive().optional(),
  seed: z.coerce.number().int().nonnegative(),
  tasks: z.string().transform((s) => s.split(',')).pipe(z.array(z.enum(GENERATIVE_TASKS)).min(1)),
  keep: z.coerce.number().int().nonnegative(),
});
const args = Args.parse(values);
const modelDir = values.model ?? DEFAULT_MODEL_DIR;
const DEFAULT_COUNT: Record<GenerativeTask, number> = { t2i: 40, x2i: 40, story: 160, howto: 40, explore: 40 };
const countOf = (task: GenerativeTask) => args.count ?? DEFAULT_COUNT[task];
const TARGETS: Record<GenerativeTask, string> = {
  t2i: 'layout shown ≥ 90%',
  x2i: 'edit right ≥ 85%',
  story: 'well formed; images agree ≥ 80%',
  howto: 'well formed; images agree ≥ 80%',
  explore: 'well formed; images agree ≥ 80%',
};

const backend = await OnnxBackend.load(modelDir, { threads: 1 });
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const rows: (string | number)[][] = [];
const reasonRows: (string | number)[][] = [];
const kindRows: (string | number)[][] = [];
const lookRows: (string | number)[][] = [];
const actionRows: (string | number)[][] = [];
const diversityRows: (string | number)[][] = [];
for (const task of args.tasks) {
  const bar = new ProgressBar(`${task}`);
  const report = await evaluateTask(backend, { task, count: countOf(task), seed: args.seed, onProgress: (d, t) => bar.update(d, t) });
  for (const r of report.results.slice(0, args.keep)) {
    const example = makeTaskExample(task, 'heldout', r.seed);
    await exportResult(path.join(values.out!, task, String(r.seed)), { question: r.instruction, references: example.inputs.map((l) => renderLayout(l)), output: r.output });
  }
  mkdirSync(path.join(values.out!, task), { recursive: true });
  const judged = report.results.map(({ output, ...rest }) => ({ ...rest, texts: output.flatMap((o) => (o.type === 'text' ? [o.text] : [])) }));
  writeFileSync(path.join(values.out!, task, 'results.json'), JSON.stringify(judged, null, 1));
  for (const [why, n] of Object.entries(disagreementReasons(report))) reasonRows.push([task, why, n]);
  if (task === 't2i' || task === 'x2i') {
    const kinds = agreementByKind(report, task === 'x2i' ? x2iEditKind : () => 'all');
    for (const [kind, k] of Object.entries(kinds)) kindRows.push([task, kind, k.examples, `${k.agreeing}/${k.images}`, (k.slotsWrong / Math.max(1, k.images)).toFixed(2)]);
  }
  if (task === 'explore') {
    for (const [kind, k] of Object.entries(agreementByImageKind(report))) lookRows.push([kind, `${k.agreeing}/${k.images}`, (k.slotsWrong / Math.max(1, k.images)).toFixed(2)]);
  }
  if (task === 'story') {
    const d = textDiversity(report);
    diversityRows.push([task, d.examples, d.distinctTexts, d.distinctFirstTexts]);
  }
  if (task === 'story' || task === 'howto') {
    for (const [kind, k] of Object.entries(agreementByImageKind(report)).sort(([a], [b]) => a.localeCompare(b))) {
      actionRows.push([task, kind, `${k.agreeing}/${k.images}`, k.wrongAt.source, k.wrongAt.destination, k.wrongAt.elsewhere]);
    }
  }
  rows.push([task, report.examples, pct(report.wellFormedRate), pct(report.imageAgreementRate), pct(report.exampleSuccessRate), report.latencyP50Ms.toFixed(0), TARGETS[task]]);
}
await backend.close();

const body = [
  `Command: \`npm run bench:tasks${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (bin/bench/taskBench.ts). ${machineLine()} ORT threads: 1.`,
  `Model \`${path.relative(process.cwd(), modelDir) || modelDir}\`, held-out examples (seeds ${args.tasks.map((t) => `${t} ${args.seed}…${args.seed + countOf(t) - 1}`).join(', ')}), the model's own sampling presets, judged by the`,
  "simulator's perception and skill semantics (sim/eval/judgeTaskOutput.ts). Example outputs: `" + values.out + '/<task>/<seed>/index.html`.',
  '',
  markdownTable(['task', 'examples', 'well formed', 'images agreeing with their text', 'examples fully right', 'latency p50 (ms)', 'target'], rows),
  ...(reasonRows.length ? ['', 'Why images disagree (per image, the judge\'s reason):', '', markdownTable(['task', 'reason', 'images'], reasonRows)] : []),
  ...(kindRows.length ? ['', 't2i and x2i (by edit kind), with the slots of 64 the image gets wrong:', '', markdownTable(['task', 'kind', 'examples', 'images right', 'slots wrong per image'], kindRows)] : []),
  ...(actionRows.length
    ? ['', 'story and howto by the action an image shows, and, of its wrong images, how many differ from the state after the action at the moved block\'s source, its destination, elsewhere:', '', markdownTable(['task', 'action', 'images right', 'wrong at source', 'wrong at destination', 'wrong elsewhere'], actionRows)]
    : []),
  ...(diversityRows.length
    ? ['', 'story\'s only input is its fixed instruction, so its examples differ only in what the model chooses to tell: distinct stories (all texts in order) and distinct opening scenes:', '', markdownTable(['task', 'examples', 'distinct stories', 'distinct openings'], diversityRows)]
    : []),
  ...(lookRows.length ? ['', 'explore by camera command, with the slots of the 48 that stay in view the image gets wrong:', '', markdownTable(['command', 'images right', 'slots wrong per image'], lookRows)] : []),
].join('\n');
writeBenchmarkSection('Generative tasks', body);
console.log(body);
