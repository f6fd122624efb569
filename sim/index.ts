/**
 * `emu-robotics/sim`: the tabletop simulator as an evaluation harness. Episodes come from suites
 * (`makeEpisode`), `evaluate` runs a planner over them in the shipped closed loop, and the planner
 * registry makes a new planner available to `evaluate` and `emu sim eval --planner`.
 * `SimWorld` and `renderLayout` give a world and its camera for your own loops; `exportTask` writes
 * training data (sim/EXPORT.md).
 *
 * Physics, perception, skills and goal parsing are not part of this surface; inside the repo they
 * stay importable by path.
 *
 * @example
 * import { evaluate, writeReport } from 'emu-robotics/sim';
 * const report = await evaluate({ planner: 'oracle', suite: 'spatial', episodes: 5, physics: false });
 * console.log(report.overall.successRate);
 * writeReport(report, 'out/eval');
 */

// Episodes and suites
export { SUITES, makeEpisode } from './tasks/suites.ts';
export type { Episode, SuiteName } from './tasks/suites.ts';
export { SPLITS } from './tasks/generateScene.ts';
export type { Split } from './tasks/generateScene.ts';

// Evaluation
export { evaluate, EvalOptionsSchema } from './eval/evaluate.ts';
export type { EvalOptions, EvalReport } from './eval/evaluate.ts';
export { runEpisode } from './eval/runEpisode.ts';
export type { EpisodeOptions, EpisodeResult, SubgoalRecord } from './eval/runEpisode.ts';
export { suiteMetrics } from './eval/suiteMetrics.ts';
export type { SuiteMetrics } from './eval/suiteMetrics.ts';
export { writeReport } from './eval/writeReport.ts';
export { evaluateWalks } from './eval/evaluateWalks.ts';
export type { WalkEvalOptions, WalkResult } from './eval/evaluateWalks.ts';

// Planner registry: where `--planner NAME[:ARG]` comes from
export { registerPlanner, createPlanner, loadPlannerModule, registeredPlanners } from './eval/plannerRegistry.ts';
export type { PlannerFactory, PlannerFactoryOptions } from './eval/plannerRegistry.ts';
export { WorldView } from './eval/WorldView.ts';

// The world and its camera
export { SimWorld } from './world/SimWorld.ts';
export type { SimWorldOptions, TransferResult } from './world/SimWorld.ts';
export { emptyLayout, LayoutSchema } from './world/Layout.ts';
export type { Cell, Layout, Slot } from './world/Layout.ts';
export { BLOCK_COLOURS, BOWL_COLOURS } from './world/colours.ts';
export type { BlockColour, BowlColour } from './world/colours.ts';
export { renderLayout, DEFAULT_FRAME_SIZE } from './render/renderLayout.ts';
export type { FrameSize } from './render/renderLayout.ts';

// Training-data export (sim/EXPORT.md)
export { exportTask, ExportOptionsSchema } from './export/exportTask.ts';
export type { ExportOptions, ExportSummary } from './export/exportTask.ts';
export { EXPORT_TASKS } from './tasks/taskExamples.ts';
export type { ExportTask } from './tasks/taskExamples.ts';
