import type { Observable } from 'rxjs';
import type { RgbImage } from '../sdk/image/RgbImage.ts';
import type { PlanUsage, Subgoal } from './Plan.ts';

/**
 * What a planner is asked: the current camera frame and a language goal. Nothing else: a planner
 * that needs more (the oracle's true simulator state) gets it at construction.
 */
export interface PlanRequest {
  frame: RgbImage;
  goal: string;
}

/**
 * A subgoal as a planner makes it: the plan schema's subgoal (`Plan.ts`) before the bridge's edge,
 * with the keyframe still as pixels (PNG-encoded once, by the bridge, when it leaves the process).
 */
export type PlannedSubgoal = Pick<Subgoal, 'instruction'> & {
  /** The predicted frame after this subgoal, when the planner predicts one. */
  keyframe?: RgbImage;
};

export interface PlanResult {
  subgoals: PlannedSubgoal[];
  /** Wall time from request to final plan. @unit ms */
  latencyMs: number;
  /** Model usage when a model made the plan. */
  usage?: PlanUsage;
}

/** A partial plan as it forms: the subgoals so far, `complete` on the last emission (with usage, if a model made it). */
export interface PlanProgress {
  subgoals: PlannedSubgoal[];
  complete: boolean;
  /** On the complete emission: the model hit its token budget before the plan ended. */
  truncated?: boolean;
  usage?: PlanUsage;
}

export interface PlanOptions {
  signal?: AbortSignal;
}

/** Frame + goal in, ordered subgoals (optionally with keyframes) out; cancellable. */
export interface Planner {
  readonly name: string;
  plan(request: PlanRequest, options?: PlanOptions): Promise<PlanResult>;
  /** Streams partial plans as subgoals arrive; completes after the final plan. Optional. */
  planStream?(request: PlanRequest, options?: PlanOptions): Observable<PlanProgress>;
}
