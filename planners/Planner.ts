import type { Observable } from 'rxjs';
import type { RgbImage } from '../sdk/image/RgbImage.ts';

/** What a planner is asked: the current camera frame and a language goal. */
export interface PlanRequest {
  frame: RgbImage;
  goal: string;
  /**
   * Privileged simulator state, for oracle/baseline planners only. Real planners ignore it;
   * the harness fills it, the bridge never does.
   */
  privileged?: unknown;
}

export interface PlannedSubgoal {
  instruction: string;
  /** The predicted frame after this subgoal, when the planner predicts one. */
  keyframe?: RgbImage;
}

export interface PlanResult {
  subgoals: PlannedSubgoal[];
  /** Wall time from request to final plan. @unit ms */
  latencyMs: number;
  /** Model usage when a model made the plan. */
  usage?: { generatedTokens: number; forwardPasses: number };
}

/** A partial plan as it forms: the subgoals so far, `complete` on the last emission. */
export interface PlanProgress {
  subgoals: PlannedSubgoal[];
  complete: boolean;
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
