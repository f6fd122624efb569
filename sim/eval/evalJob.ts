import type { PlanExecutorOptions } from '../../planners/PlanExecutor.ts';
import type { Planner } from '../../planners/Planner.ts';
import { WorldView } from './WorldView.ts';
import type { Split } from '../tasks/generateScene.ts';
import { makeEpisode, type SuiteName } from '../tasks/suites.ts';
import { createPlanner } from './plannerRegistry.ts';
import { runEpisode, type EpisodeResult } from './runEpisode.ts';

export interface EvalJobInput {
  suite: SuiteName;
  split: Split;
  seed: number;
  planner: string;
  plannerModule?: string;
  physics: boolean;
  replan: PlanExecutorOptions;
  keepFrames: boolean;
  goalCheck?: boolean;
}

const planners = new Map<string, Promise<Planner>>();
/** One view per worker: episodes run one at a time, each attached while it runs. */
const view = new WorldView();

/** One episode in a worker (the planner is created once per worker and reused). */
export async function runJob(input: EvalJobInput): Promise<EpisodeResult> {
  const key = `${input.planner}|${input.plannerModule ?? ''}`;
  if (!planners.has(key)) planners.set(key, createPlanner(input.planner, input.plannerModule, view));
  const planner = await planners.get(key)!;
  const episode = makeEpisode(input.suite, input.split, input.seed);
  return runEpisode(episode, planner, { physics: input.physics, replan: input.replan, view, keepFrames: input.keepFrames, goalCheck: input.goalCheck ?? true });
}
