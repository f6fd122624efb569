// Public API of the simulator: world, rendering, perception, skills, tasks, evaluation, export.
export { BLOCK_COLOURS, BOWL_COLOURS, PALETTE, TABLE_RGB, BORDER_RGB } from './world/colours.ts';
export type { BlockColour, BowlColour, Rgb } from './world/colours.ts';
export { Prng, fnv1a } from './world/Prng.ts';
export { emptyLayout, cloneLayout, layoutKey, layoutsEqual, findBlock, findBowl, windowOf, LayoutSchema, CellSchema, MAX_STACK } from './world/Layout.ts';
export type { Cell, Layout, Slot, BlockPlace } from './world/Layout.ts';
export { SimWorld } from './world/SimWorld.ts';
export type { SimWorldOptions, TransferResult } from './world/SimWorld.ts';
export { PhysicsScene, initPhysics } from './world/PhysicsScene.ts';
export type { TransferOptions, TransferOutcome } from './world/PhysicsScene.ts';

export { renderLayout, DEFAULT_FRAME_SIZE } from './render/renderLayout.ts';
export type { FrameSize } from './render/renderLayout.ts';
export { slotPatch, SLOT_PX } from './render/slotPatch.ts';

export { perceiveLayout } from './perception/perceiveLayout.ts';
export { layoutAgreement } from './perception/layoutAgreement.ts';
export { psnr } from './perception/psnr.ts';

export { parseSubgoal } from './skills/parseSubgoal.ts';
export { describeSubgoal, narrateSubgoal } from './skills/describeSubgoal.ts';
export { executeSubgoal, executeAction } from './skills/executeSubgoal.ts';
export type { SkillResult } from './skills/executeSubgoal.ts';
export { resolveAction } from './skills/resolveAction.ts';
export type { SkillFailureReason } from './skills/resolveAction.ts';
export { RELATIONS } from './skills/Action.ts';
export type { Action, Relation, ObjectRef } from './skills/Action.ts';

export { SUITES, makeEpisode } from './tasks/suites.ts';
export type { Episode, SuiteName } from './tasks/suites.ts';
export { SPLITS, splitOf, HELDOUT_PAIRS } from './tasks/generateScene.ts';
export type { Split } from './tasks/generateScene.ts';
export { parseGoal, SORT_GOAL, towerGoal } from './tasks/parseGoal.ts';
export { holds, allHold } from './tasks/predicates.ts';
export type { Predicate } from './tasks/predicates.ts';
export { oraclePlan } from './tasks/oraclePlan.ts';
export type { OracleStep } from './tasks/oraclePlan.ts';
export { describeScene } from './tasks/describeScene.ts';
export { EXPORT_TASKS, makeTaskExample } from './tasks/taskExamples.ts';
export type { ExportTask, TaskExample, ExampleItem } from './tasks/taskExamples.ts';

export { evaluate, EvalOptionsSchema } from './eval/evaluate.ts';
export type { EvalOptions, EvalReport } from './eval/evaluate.ts';
export { runEpisode } from './eval/runEpisode.ts';
export type { EpisodeOptions, EpisodeResult, SubgoalRecord } from './eval/runEpisode.ts';
export { suiteMetrics, PSNR_CAP_DB } from './eval/suiteMetrics.ts';
export type { SuiteMetrics } from './eval/suiteMetrics.ts';
export { registerPlanner, createPlanner, loadPlannerModule, registeredPlanners } from './eval/plannerRegistry.ts';
export type { PlannerFactory, PlannerFactoryOptions } from './eval/plannerRegistry.ts';
export { simOracleSolver } from './eval/simOracleSolver.ts';
export { WorldView } from './eval/WorldView.ts';
export { writeReport } from './eval/writeReport.ts';

export { exportTask, ExportOptionsSchema } from './export/exportTask.ts';
export type { ExportOptions, ExportSummary } from './export/exportTask.ts';
