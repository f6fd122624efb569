import { parseArgs } from 'node:util';
import { parseOrThrow } from '../../sdk/errors.ts';
import { ExportOptionsSchema, exportTask } from '../../sim/export/exportTask.ts';
import { ProgressBar } from './ProgressBar.ts';
import { USAGE } from './simUsage.ts';

/** `emu sim <export|eval> …` */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'export') return runExport(rest);
  if (sub === 'eval') return (await import('./evalCommand.ts')).runEval(rest);
  const help = sub === '--help' || sub === '-h';
  (help ? console.log : console.error)(USAGE);
  return help ? 0 : 2;
}

/** `128` → 128×128, `640x480` → 640×480. */
export function parseSize(text: string): { width: number; height: number } {
  const [w, h] = text.toLowerCase().split('x').map(Number);
  return { width: w!, height: h ?? w! };
}

async function runExport(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      task: { type: 'string' },
      split: { type: 'string', default: 'train' },
      count: { type: 'string' },
      seed: { type: 'string', default: '0' },
      size: { type: 'string', default: '128' },
      out: { type: 'string' },
      workers: { type: 'string', default: '1' },
      physics: { type: 'boolean', default: false },
      'no-layouts': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.task || !values.count) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const size = parseSize(values.size);
  const bar = new ProgressBar(`export ${values.task}/${values.split}`);
  // Ctrl-C stops between chunks and keeps what is done, marked partial (a second Ctrl-C quits at once).
  const stop = new AbortController();
  const onSignal = () => (stop.signal.aborted ? process.exit(130) : stop.abort());
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await exportTask(
    {
      ...parseOrThrow(ExportOptionsSchema.pick({ task: true, split: true }), { task: values.task, split: values.split }, 'emu sim export options'),
      count: Number(values.count),
      seed: Number(values.seed),
      width: size.width,
      height: size.height,
      out: values.out,
      workers: Number(values.workers),
      physics: values.physics,
      layouts: !values['no-layouts'],
    },
    (done, total) => bar.update(done, total),
    { signal: stop.signal },
  ).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  bar.finish();
  const secs = summary.elapsedMs / 1000;
  console.log(`${summary.count} examples${summary.partial ? ` (PARTIAL: stopped before ${values.count}; meta.json says partial)` : ''}, ${summary.frames} frames in ${secs.toFixed(1)} s (${(summary.count / secs).toFixed(0)} examples/s) → ${summary.outDir}`);
  return summary.partial ? 130 : 0;
}
