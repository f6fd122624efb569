import type { Observable } from 'rxjs';
import type { GenerationEvent } from './generation/GenerationEvent.ts';
import type { RequestOptions, TaskRequest } from './generation/TaskRequest.ts';
import type { TaskName } from './model/ModelManifest.ts';
import type { EmuSession } from './session/EmuSession.ts';
import type { GenerationSessionOptions } from './session/GenerationSession.ts';

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
  /** A multi-turn session that keeps its context (explore), where the backend has them. */
  openSession?(options: GenerationSessionOptions): Promise<EmuSession>;
  close(): Promise<void>;
}
