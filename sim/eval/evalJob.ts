import type { Planner } from '../../planners/Planner.ts';
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
  replans: number;
  keepFrames: boolean;
}

const planners = new Map<string, Promise<Planner>>();

/** One episode in a worker (the planner is created once per worker and reused). */
export async function runJob(input: EvalJobInput): Promise<EpisodeResult> {
  const key = `${input.planner}|${input.plannerModule ?? ''}`;
  if (!planners.has(key)) planners.set(key, createPlanner(input.planner, input.plannerModule));
  const planner = await planners.get(key)!;
  const episode = makeEpisode(input.suite, input.split, input.seed);
  return runEpisode(episode, planner, { physics: input.physics, replans: input.replans, keepFrames: input.keepFrames });
}
