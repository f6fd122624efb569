import type { RgbImage } from '../sdk/image/RgbImage.ts';
import { InputError } from '../sdk/errors.ts';
import { throwIfAborted } from '../sdk/errors.ts';
import type { PlannedSubgoal, PlanOptions, PlanRequest, PlanResult, Planner } from './Planner.ts';

/**
 * Solves a goal from the privileged simulator state: the canonical subgoals, each with the frame
 * the simulator reaches after it. Injected by the simulator (planners import nothing from sim/).
 */
export type OracleSolver = (goal: string, privileged: unknown, frame: RgbImage) => { instruction: string; keyframe: RgbImage }[];

export interface OraclePlannerOptions {
  solve: OracleSolver;
}

/**
 * Upper-bound baseline: plans from the true state the harness passes in `privileged`, with keyframes
 * rendered from the simulated outcome. Fails with `input_invalid` when no privileged state is given.
 *
 * @example new OraclePlanner({ solve: simOracleSolver })
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
    if (request.privileged === undefined) {
      throw new InputError('input_invalid', 'OraclePlanner needs the privileged simulator state (request.privileged)');
    }
    const subgoals: PlannedSubgoal[] = this.#solve(request.goal, request.privileged, request.frame).map((s) => ({
      instruction: s.instruction,
      keyframe: s.keyframe,
    }));
    return { subgoals, latencyMs: performance.now() - started };
  }
}
