import type { Plan, Subgoal } from '../../planners/Plan.ts';
import type { PlannedSubgoal, PlanProgress } from '../../planners/Planner.ts';
import { encodeKeyframe } from '../../planners/keyframeCodec.ts';
import type { Keyframe, PlanUsage } from '../../planners/Plan.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import type { StampedFrame } from './FrameSampler.ts';

/**
 * Turns a planner's successive PlanProgress snapshots into our JSON-safe Plan: keyframes PNG-encoded
 * once each, timing measured from the request, and the set of subgoals that newly "formed" (got
 * their keyframe, or were final) since the previous snapshot.
 */
export class PlanAssembler {
  readonly #keyframes = new WeakMap<RgbImage, Promise<Keyframe>>();
  readonly #formed = new Set<number>();
  readonly #started: number;
  readonly #startedAtMs: number;
  #firstSubgoalMs: number | undefined;

  /** `since`: when planning began (`performance.now()`, `Date.now()`); default: now. */
  constructor(
    private readonly planId: string,
    private readonly goal: string,
    private readonly planner: string,
    private readonly frame: StampedFrame,
    since: { perf: number; epochMs: number } = { perf: performance.now(), epochMs: Date.now() },
  ) {
    this.#started = since.perf;
    this.#startedAtMs = since.epochMs;
  }

  /** The plan for `progress`, and the subgoals that formed with it (to publish individually). */
  async assemble(progress: PlanProgress & { usage?: PlanUsage }): Promise<{ plan: Plan; formed: Subgoal[] }> {
    const elapsedMs = performance.now() - this.#started;
    if (this.#firstSubgoalMs === undefined && progress.subgoals.length > 0) this.#firstSubgoalMs = elapsedMs;
    const subgoals = await Promise.all(progress.subgoals.map((s, i) => this.#subgoal(s, i, progress.complete)));
    const formed = subgoals.filter((s, i) => !this.#formed.has(i) && (s.keyframe !== undefined || progress.complete));
    for (const s of formed) this.#formed.add(s.index);
    const plan: Plan = {
      planId: this.planId,
      goal: this.goal,
      planner: this.planner,
      source: { stamp: this.frame.stamp, frameId: this.frame.frameId, width: this.frame.image.width, height: this.frame.image.height },
      subgoals,
      complete: progress.complete,
      truncated: progress.truncated ?? false,
      timing: { startedAtMs: this.#startedAtMs, elapsedMs, ...(this.#firstSubgoalMs !== undefined ? { firstSubgoalMs: this.#firstSubgoalMs } : {}) },
      ...(progress.usage ? { usage: progress.usage } : {}),
    };
    return { plan, formed };
  }

  async #subgoal(s: PlannedSubgoal, index: number, complete: boolean): Promise<Subgoal> {
    const status = complete && index === 0 ? 'active' : 'pending';
    if (!s.keyframe) return { index, instruction: s.instruction, status };
    let kf = this.#keyframes.get(s.keyframe);
    if (!kf) {
      kf = encodeKeyframe(s.keyframe);
      this.#keyframes.set(s.keyframe, kf);
    }
    return { index, instruction: s.instruction, keyframe: await kf, status };
  }
}
