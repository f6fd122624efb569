import type { Observable } from 'rxjs';
import type { EmuBackend } from './EmuBackend.ts';
import { EngineError } from './errors.ts';
import type { GenerationEvent, GenerationResult } from './generation/GenerationEvent.ts';
import type { RequestOptions, TaskRequest } from './generation/TaskRequest.ts';
import type { TaskName } from './model/ModelManifest.ts';

/** A request without its task: the helper names it. */
export type TaskParams = Omit<TaskRequest, 'task'>;

/** Runs the stream to its `done` event and returns the result (errors reject). */
export function collect(events: Observable<GenerationEvent>): Promise<GenerationResult> {
  return new Promise((resolve, reject) => {
    let task: TaskName | undefined;
    let result: GenerationResult | undefined;
    events.subscribe({
      next: (e) => {
        if (e.type === 'start') task = e.task;
        else if (e.type === 'done') result = { task: task!, output: e.output, tokens: e.tokens, usage: e.usage, ...(e.truncated ? { truncated: e.truncated } : {}) };
      },
      error: reject,
      complete: () => (result ? resolve(result) : reject(new EngineError('generation ended without a done event'))),
    });
  });
}

function runTask(task: TaskName) {
  return (backend: EmuBackend, params: TaskParams, options?: RequestOptions): Promise<GenerationResult> =>
    collect(backend.generate({ ...params, task }, options));
}

/** Text → one image. @example const { output } = await t2i(backend, { prompt: 'a red block in a blue bowl' }); */
export const t2i = runTask('t2i');
/** Reference image(s) + an edit instruction → one image. @example await x2i(backend, { prompt: 'move the red block', images: [frame] }); */
export const x2i = runTask('x2i');
/** Text (+ images) → an illustrated story: narration interleaved with images. */
export const story = runTask('story');
/** A task → step-by-step instructions, each with an image. */
export const howto = runTask('howto');
/** A scene (+ a move) → the next view with its narration (world exploration). */
export const explore = runTask('explore');
/** Instruction + current camera frame → a plan of subgoals, each with a predicted keyframe. @example await vla(backend, { prompt: goal, images: [frame] }); */
export const vla = runTask('vla');
