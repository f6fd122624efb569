import type { RgbImage } from '../sdk/image/RgbImage.ts';
import { throwIfAborted } from '../sdk/errors.ts';
import type { PlanOptions, PlanRequest, PlanResult, Planner } from './Planner.ts';

export interface TrivialPlannerOptions {
  /**
   * `echo`: the goal text as the only subgoal. `random`: one subgoal drawn (deterministically, from a
   * hash of goal and frame) from `candidates(frame)`, e.g. legal-looking sentences about the objects seen.
   * @default 'random' when `candidates` is given, else 'echo'
   */
  mode?: 'echo' | 'random';
  candidates?: (frame: RgbImage) => string[];
}

/** Lower-bound baseline: no model, no keyframes, no privileged state. */
export class TrivialPlanner implements Planner {
  readonly name = 'trivial';
  readonly #mode: 'echo' | 'random';
  readonly #candidates?: (frame: RgbImage) => string[];

  constructor(options: TrivialPlannerOptions = {}) {
    this.#candidates = options.candidates;
    this.#mode = options.mode ?? (options.candidates ? 'random' : 'echo');
  }

  async plan(request: PlanRequest, options: PlanOptions = {}): Promise<PlanResult> {
    const started = performance.now();
    throwIfAborted(options.signal);
    const instruction = this.#mode === 'echo' ? request.goal : this.#pick(request);
    return { subgoals: instruction ? [{ instruction }] : [], latencyMs: performance.now() - started };
  }

  #pick(request: PlanRequest): string | null {
    const options = this.#candidates?.(request.frame) ?? [];
    if (options.length === 0) return null;
    return options[hash(request.goal, request.frame.data) % options.length]!;
  }
}

function hash(text: string, bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  for (let i = 0; i < bytes.length; i += 7) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}
