import { defer, lastValueFrom, Observable } from 'rxjs';
import { z } from 'zod';
import type { EmuBackend } from '../sdk/EmuBackend.ts';
import { AbortError, EngineError, InputError, parseOrThrow, throwIfAborted } from '../sdk/errors.ts';
import type { GenerationEvent, Usage } from '../sdk/generation/GenerationEvent.ts';
import { GridTupleSchema, SamplingOverridesSchema, type TaskRequest } from '../sdk/generation/TaskRequest.ts';
import { RgbImageSchema } from '../sdk/image/RgbImage.ts';
import type { PlanUsage } from './Plan.ts';
import type { PlannedSubgoal, Planner, PlanOptions, PlanProgress, PlanRequest, PlanResult } from './Planner.ts';
import { checkGoal, MAX_GOAL_CHARS } from './goal.ts';
import { parseVlaOutput } from './parseVlaOutput.ts';

export const EmuVlaPlannerOptionsSchema = z
  .object({
    /** Overrides of the model's vla sampling preset (e.g. a small `maxNewTokens` for short plans). */
    sampling: SamplingOverridesSchema.optional(),
    seed: z.number().int().describe('sampling seed').optional(),
    /** Token grid [rows, cols] of predicted keyframes; default: the model's choice (the camera frame's grid). */
    grid: GridTupleSchema.describe('token grid [rows, cols] of predicted keyframes').optional(),
    /** Decode keyframes to pixels. @default true */
    decodeImages: z.boolean().default(true),
    /** Longest goal accepted. @default 2000 @unit characters */
    maxGoalChars: z.number().int().positive().describe('longest goal accepted, in characters').default(MAX_GOAL_CHARS),
  })
  .strict();
export type EmuVlaPlannerOptions = z.input<typeof EmuVlaPlannerOptionsSchema>;

/**
 * The model-backed planner: camera frame + goal → one `vla` generation → subgoals, each with the
 * predicted keyframe that follows its text. `planStream` emits a snapshot when a subgoal's text is
 * finished (at its image's start), again when its keyframe is decoded, and a final `complete` one
 * parsed from the whole output. Unsubscribing or aborting stops the backend's work.
 *
 * @example
 * const planner = new EmuVlaPlanner(backend, { sampling: { maxNewTokens: 256 } });
 * const { subgoals } = await planner.plan({ frame, goal: 'put the red cube in the bowl' });
 */
export class EmuVlaPlanner implements Planner {
  readonly name = 'emu-vla';
  readonly #backend: EmuBackend;
  readonly #options: z.output<typeof EmuVlaPlannerOptionsSchema>;

  constructor(backend: EmuBackend, options: EmuVlaPlannerOptions = {}) {
    this.#backend = backend;
    this.#options = parseOrThrow(EmuVlaPlannerOptionsSchema, options, 'EmuVlaPlanner options');
  }

  async plan(request: PlanRequest, options: PlanOptions = {}): Promise<PlanResult> {
    const started = performance.now();
    const last = await lastValueFrom(this.planStream(request, options));
    const result: PlanResult = { subgoals: last.subgoals, latencyMs: performance.now() - started };
    if (last.usage) result.usage = last.usage;
    return result;
  }

  planStream(request: PlanRequest, options: PlanOptions = {}): Observable<PlanProgress> {
    return defer(() => {
      throwIfAborted(options.signal);
      const task = this.#taskRequest(request);
      return streamPlan(this.#backend, task, options.signal);
    });
  }

  #taskRequest({ frame, goal }: PlanRequest): TaskRequest {
    const instruction = checkGoal(goal, this.#options.maxGoalChars);
    const checked = RgbImageSchema.safeParse(frame);
    if (!checked.success) {
      throw new InputError('image_invalid', `camera frame is not packed RGB8: ${checked.error.issues.map((i) => i.message).join('; ')}`);
    }
    const { sampling, seed, grid, decodeImages } = this.#options;
    return {
      task: 'vla',
      prompt: instruction,
      images: [checked.data],
      decodeImages,
      ...(sampling ? { sampling } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(grid ? { grid } : {}),
    };
  }
}

function streamPlan(backend: EmuBackend, task: TaskRequest, signal: AbortSignal | undefined): Observable<PlanProgress> {
  return new Observable<PlanProgress>((subscriber) => {
    const state = new PlanStreamState();
    const inner = backend.generate(task, signal ? { signal } : {}).subscribe({
      next: (event) => {
        const progress = state.apply(event);
        if (progress) subscriber.next(progress);
      },
      error: (err) => subscriber.error(err),
      complete: () => {
        if (state.finished) subscriber.complete();
        else subscriber.error(new EngineError('vla generation ended without a done event'));
      },
    });
    const onAbort = () => subscriber.error(new AbortError('plan aborted', { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    return () => {
      signal?.removeEventListener('abort', onAbort);
      inner.unsubscribe();
    };
  });
}

/** Folds generation events into subgoal snapshots. */
class PlanStreamState {
  finished = false;
  #subgoals: PlannedSubgoal[] = [];
  #text = '';
  /** Index of the subgoal waiting for the image now being generated, or -1 for an unpaired image. */
  #awaiting = -1;

  apply(event: GenerationEvent): PlanProgress | undefined {
    switch (event.type) {
      case 'text.delta':
        this.#text += event.text;
        return undefined;
      case 'image.start': {
        const instruction = this.#text.trim();
        this.#text = '';
        if (!instruction) {
          this.#awaiting = -1;
          return undefined;
        }
        this.#subgoals = [...this.#subgoals, { instruction }];
        this.#awaiting = this.#subgoals.length - 1;
        return this.#snapshot();
      }
      case 'image.done': {
        const index = this.#awaiting;
        this.#awaiting = -1;
        if (index < 0 || !event.image) return undefined;
        this.#subgoals = this.#subgoals.map((s, i) => (i === index ? { ...s, keyframe: event.image! } : s));
        return this.#snapshot();
      }
      case 'done':
        this.finished = true;
        return { subgoals: parseVlaOutput(event.output), complete: true, truncated: event.usage.stopReason === 'max_tokens', usage: usageOf(event.usage) };
      default:
        return undefined;
    }
  }

  #snapshot(): PlanProgress {
    return { subgoals: this.#subgoals, complete: false };
  }
}

function usageOf(usage: Usage): PlanUsage {
  return { generatedTokens: usage.generatedTokens, forwardPasses: usage.forwardPasses.cond + usage.forwardPasses.uncond };
}
