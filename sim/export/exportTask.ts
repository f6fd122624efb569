import { SPLITS } from '../tasks/generateScene.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '../../sdk/errors.ts';
import { replaceFolder } from '../../sdk/output/outputFolder.ts';
import { runJobs } from '../workers/runJobs.ts';
import { EXPORT_TASKS } from '../tasks/taskExamples.ts';
import type { ExportChunk, ExportChunkResult } from './exportJob.ts';

/** What `emu sim export` / `exportTask()` writes: task, split, count, seed, frame size, workers. */
export const ExportOptionsSchema = z.object({
  task: z.enum(EXPORT_TASKS),
  split: z.enum(SPLITS).default('train'),
  count: z.number().int().positive(),
  seed: z.number().int().nonnegative().default(0),
  /** Frame width and height (multiples of 16). @default 128×128 */
  width: z.number().int().positive().multipleOf(16).default(128),
  height: z.number().int().positive().multipleOf(16).default(128),
  /** @default out/export/<task>-<split> */
  out: z.string().optional(),
  workers: z.number().int().positive().default(1),
  /** Re-run vla/howto plans in the rigid-body simulation (slower; same frames when nothing topples). */
  physics: z.boolean().default(false),
  /** Include per-frame perception ground truth. */
  layouts: z.boolean().default(true),
  chunkSize: z.number().int().positive().default(200),
});
/** Stops an export between chunks; what was written is kept and marked partial. */
export interface ExportControl {
  signal?: AbortSignal;
}
export type ExportOptions = z.input<typeof ExportOptionsSchema>;

/** What an export wrote, and how fast. */
export interface ExportSummary {
  outDir: string;
  count: number;
  /** True when the export was stopped before `count` examples: meta.json says so too. */
  partial: boolean;
  frames: number;
  /** @unit ms */
  elapsedMs: number;
}

/**
 * Writes `count` examples of a task in the format of sim/EXPORT.md: meta.json, examples.jsonl (in
 * index order) and frames/*.png. Deterministic for a seed, whatever the worker count.
 *
 * The export is written into a fresh folder and renamed into place at the end, so an older export
 * is replaced whole (never mixed) and an interrupted process leaves the old one untouched. Stopped
 * through `control.signal`, the chunks already done are kept: meta.json then says `partial: true`
 * with the real `count` (and the `requested` one), and examples.jsonl lists exactly those examples.
 */
export async function exportTask(options: ExportOptions, onProgress?: (done: number, total: number) => void, control: ExportControl = {}): Promise<ExportSummary> {
  const o = parseOrThrow(ExportOptionsSchema, options, 'export options');
  const started = performance.now();
  const finalDir = path.resolve(o.out ?? path.join('out', 'export', `${o.task}-${o.split}`));
  return replaceFolder(finalDir, async (outDir) => {
    const { lines, frames } = await writeChunks(o, outDir, onProgress, control.signal);
    const partial = lines.length < o.count;
    writeFileSync(path.join(outDir, 'examples.jsonl'), lines.join('\n') + (lines.length ? '\n' : ''));
    // meta.json last: it states what the folder holds.
    const meta = { format: 'emu-sim-export', version: 1, task: o.task, split: o.split, count: lines.length, ...(partial ? { partial: true, requested: o.count } : {}), seed: o.seed, frameSize: [o.width, o.height], grid: [8, 8] };
    writeFileSync(path.join(outDir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    return { outDir: finalDir, count: lines.length, partial, frames, elapsedMs: performance.now() - started };
  });
}

async function writeChunks(o: z.output<typeof ExportOptionsSchema>, outDir: string, onProgress: ((done: number, total: number) => void) | undefined, signal: AbortSignal | undefined) {
  mkdirSync(path.join(outDir, 'frames'), { recursive: true });
  const chunks: ExportChunk[] = [];
  for (let start = 0; start < o.count; start += o.chunkSize) {
    const end = Math.min(o.count, start + o.chunkSize);
    chunks.push({ task: o.task, split: o.split, start, end, seed: o.seed, size: { width: o.width, height: o.height }, outDir, physics: o.physics, layouts: o.layouts });
  }
  let done = 0;
  const job = new URL('./exportJob.ts', import.meta.url).href;
  const results = await runJobs<ExportChunk, ExportChunkResult>(job, chunks, {
    workers: o.workers,
    onDone: (i) => onProgress?.((done += chunks[i]!.end - chunks[i]!.start), o.count),
    ...(signal ? { signal } : {}),
  });
  const finished = results.filter(Boolean); // chunks never run (stopped) leave holes
  return { lines: finished.flatMap((r) => r.lines), frames: finished.reduce((n, r) => n + r.frames, 0) };
}
