import type { Observable } from 'rxjs';
import type { GenerationEvent } from './generation/GenerationEvent.ts';
import type { RequestOptions, TaskRequest } from './generation/TaskRequest.ts';
import type { TaskName } from './model/ModelManifest.ts';

/**
 * Where generation runs: in-process ONNX (`OnnxBackend`) today, a remote GPU host later.
 * Everything above the SDK (planners, bridge, sim) talks to this interface only.
 */
export interface EmuBackend {
  readonly modelName: string;
  readonly tasks: readonly TaskName[];
  /**
   * Streams events for one request. Cold: work starts on subscribe; unsubscribing or aborting
   * `options.signal` stops the model work underneath. Errors are `SdkError`s.
   */
  generate(request: TaskRequest, options?: RequestOptions): Observable<GenerationEvent>;
  close(): Promise<void>;
}
