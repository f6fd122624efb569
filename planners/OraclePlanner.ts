import type { RgbImage } from '../sdk/image/RgbImage.ts';
import { throwIfAborted } from '../sdk/errors.ts';
import type { PlannedSubgoal, PlanOptions, PlanRequest, PlanResult, Planner } from './Planner.ts';

/**
 * Solves a goal from the true world state the solver was built with (the simulator closes over its
 * world; planners import nothing from sim/): the canonical subgoals, each with the frame reached
 * after it.
 */
export type OracleSolver = (goal: string, frame: RgbImage) => { instruction: string; keyframe: RgbImage }[];

export interface OraclePlannerOptions {
  solve: OracleSolver;
}

/**
 * Upper-bound baseline: plans from the true state its solver can see (given at construction, never
 * through the request), with keyframes rendered from the simulated outcome.
 *
 * @example new OraclePlanner({ solve: simOracleSolver(worldView) })
 */
export class OraclePlanner implements Planner {
  readonly name = 'oracle';
  readonly #solve: OracleSolver;

  constructor(options: OraclePlannerOptions) {
    this.#solve = options.solve;
  }

  async plan(request: PlanRequest, options: PlanOptions = {}): Promise<PlanResult> {
    const started = performance.now();
    throwIfAborted(options.signal);
    const subgoals: PlannedSubgoal[] = this.#solve(request.goal, request.frame).map((s) => ({ instruction: s.instruction, keyframe: s.keyframe }));
    return { subgoals, latencyMs: performance.now() - started };
  }
}
