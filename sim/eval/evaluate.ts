import { SPLITS } from '../tasks/generateScene.ts';
import { z } from 'zod';
import { PlanExecutorOptionsSchema } from '../../planners/PlanExecutor.ts';
import { parseOrThrow } from '../../sdk/errors.ts';
import { runJobs } from '../workers/runJobs.ts';
import { SUITES, type SuiteName } from '../tasks/suites.ts';
import type { EvalJobInput } from './evalJob.ts';
import type { EpisodeResult } from './runEpisode.ts';
import { suiteMetrics, type SuiteMetrics } from './suiteMetrics.ts';

/** What `emu sim eval` / `evaluate()` runs: which planner, which suites and seeds, workers, the loop's re-plan policy. */
export const EvalOptionsSchema = z.object({
  /** `oracle`, `trivial`, `emu:MODEL_DIR`, or any name a `plannerModule` registers. */
  planner: z.string().min(1),
  plannerModule: z.string().optional(),
  suite: z.enum([...SUITES, 'all']).default('all'),
  split: z.enum(SPLITS).default('heldout'),
  /** Episodes per suite. */
  episodes: z.number().int().positive().default(10),
  seed: z.number().int().nonnegative().default(0),
  workers: z.number().int().positive().default(1),
  physics: z.boolean().default(true),
  /** The closed loop's re-plan policy (PlanExecutor's schema and defaults, as the bridge ships it). */
  replan: PlanExecutorOptionsSchema.prefault({}),
  /** Shorthand for `replan.maxReplans` (the CLI's `--replans`). */
  replans: z.number().int().nonnegative().optional(),
  /**
   * The judge tells the loop whether the goal holds once a plan is done (a success detector, the
   * loop's `goalReached`). false: the loop has only the camera (keyframe checks) and the controller.
   */
  goalCheck: z.boolean().default(true),
  /** Episodes per suite whose frames the report shows (failures are always shown). */
  keepFrames: z.number().int().nonnegative().default(3),
});
export type EvalOptions = z.input<typeof EvalOptionsSchema>;

/** An evaluation's results: per-suite and overall metrics and every episode (written as results.json + report.html). */
export interface EvalReport {
  format: 'emu-sim-eval';
  version: 1;
  options: z.infer<typeof EvalOptionsSchema>;
  suites: Record<string, SuiteMetrics>;
  overall: SuiteMetrics;
  episodes: EpisodeResult[];
  /** @unit ms */
  elapsedMs: number;
}

/**
 * Runs `episodes` episodes per suite (episode i has seed `seed + i`) with the planner, in parallel on
 * worker threads; everything but timings is identical for a given seed whatever the worker count.
 */
export async function evaluate(options: EvalOptions, onProgress?: (done: number, total: number) => void): Promise<EvalReport> {
  const o = parseOrThrow(EvalOptionsSchema, options, 'eval options');
  const started = performance.now();
  const suites: SuiteName[] = o.suite === 'all' ? [...SUITES] : [o.suite];
  const inputs: EvalJobInput[] = suites.flatMap((suite) =>
    Array.from({ length: o.episodes }, (_, i) => ({
      suite,
      split: o.split,
      seed: o.seed + i,
      planner: o.planner,
      plannerModule: o.plannerModule,
      physics: o.physics,
      replan: o.replans === undefined ? o.replan : { ...o.replan, maxReplans: o.replans },
      // Frames of every episode: the report shows the first `keepFrames` per suite and every failure.
      keepFrames: true,
      goalCheck: o.goalCheck,
    })),
  );
  let done = 0;
  const job = new URL('./evalJob.ts', import.meta.url).href;
  const episodes = await runJobs<EvalJobInput, EpisodeResult>(job, inputs, { workers: o.workers, onDone: () => onProgress?.(++done, inputs.length) });
  const bySuite = Object.fromEntries(suites.map((s) => [s, suiteMetrics(episodes.filter((e) => e.suite === s))]));
  return { format: 'emu-sim-eval', version: 1, options: o, suites: bySuite, overall: suiteMetrics(episodes), episodes, elapsedMs: performance.now() - started };
}
