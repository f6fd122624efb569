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
        else if (e.type === 'done') result = { task: task!, output: e.output, tokens: e.tokens, usage: e.usage };
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

export const t2i = runTask('t2i');
export const x2i = runTask('x2i');
export const story = runTask('story');
export const howto = runTask('howto');
export const explore = runTask('explore');
export const vla = runTask('vla');
