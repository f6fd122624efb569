import path from 'node:path';
import { parseArgs } from 'node:util';
import { InputError, parseOrThrow } from '../../sdk/errors.ts';
import { EvalOptionsSchema, evaluate } from '../../sim/eval/evaluate.ts';
import { writeReport } from '../../sim/eval/writeReport.ts';
import { checkOutputFolder, replaceFolder } from '../../sdk/output/outputFolder.ts';
import { ProgressBar } from './ProgressBar.ts';
import { USAGE } from './simUsage.ts';

/** The enum-valued flags, checked by the evaluation's own schema before any work. */
const EvalChoiceSchema = EvalOptionsSchema.pick({ suite: true, split: true });

/** `emu sim eval …` (options in bin/cli/simCommand.ts's usage). */
export async function runEval(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      planner: { type: 'string' },
      model: { type: 'string' },
      backend: { type: 'string' },
      'planner-module': { type: 'string' },
      suite: { type: 'string', default: 'all' },
      split: { type: 'string', default: 'heldout' },
      episodes: { type: 'string', default: '10' },
      seed: { type: 'string', default: '0' },
      workers: { type: 'string', default: '1' },
      replans: { type: 'string' },
      'no-physics': { type: 'boolean', default: false },
      'keep-frames': { type: 'string', default: '3' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const choice = parseOrThrow(EvalChoiceSchema, { suite: values.suite, split: values.split }, 'emu sim eval options');
  // --model DIR / --backend URL: the model-backed planner on that model folder or remote engine.
  const where = values.model ?? values.backend;
  if (values.model && values.backend) throw new InputError('input_invalid', 'pass --model DIR or --backend URL, not both');
  if (where && values.planner && !values.planner.startsWith('emu')) throw new InputError('input_invalid', `--model/--backend run the emu planner; --planner ${values.planner} takes no model`);
  values.planner = where ? `emu:${where}` : (values.planner ?? 'oracle');
  const outDir = values.out ?? path.join('out', 'eval', `${values.planner.replace(/[^\w.-]+/g, '_')}-${values.suite}-${values.split}`);
  await checkOutputFolder(outDir); // before the episodes run, not after
  const bar = new ProgressBar(`eval ${values.planner}`);
  const report = await evaluate(
    {
      planner: values.planner,
      plannerModule: values['planner-module'],
      suite: choice.suite,
      split: choice.split,
      episodes: Number(values.episodes),
      seed: Number(values.seed),
      workers: Number(values.workers),
      ...(values.replans !== undefined ? { replans: Number(values.replans) } : {}),
      physics: !values['no-physics'],
      keepFrames: Number(values['keep-frames']),
    },
    (done, total) => bar.update(done, total),
  );
  bar.finish();
  // Written whole and renamed into place: no frames of an older report mixed into this one.
  await replaceFolder(outDir, async (tmp) => void writeReport(report, tmp));
  const files = { json: path.join(outDir, 'results.json'), html: path.join(outDir, 'report.html') };
  for (const [suite, m] of [...Object.entries(report.suites), ['all', report.overall] as const]) {
    console.log(
      `${suite.padEnd(8)} success ${(100 * m.successRate).toFixed(1).padStart(5)}%  chain ${m.avgCompletedLength.toFixed(2)}/${m.avgChainLength.toFixed(2)}  subgoals ${(100 * m.subgoalSuccessRate).toFixed(1)}%  latency p50 ${m.planLatencyP50Ms.toFixed(2)} ms`,
    );
  }
  console.log(`results: ${files.json}\nreport:  ${files.html}`);
  return 0;
}
