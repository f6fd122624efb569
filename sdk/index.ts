/**
 * `emu-robotics/sdk`: run an Emu3.5-style model (text and images in one token stream) through a
 * backend. Load a model folder with `OnnxBackend.load`, then either await a task helper (`t2i`,
 * `x2i`, `story`, `howto`, `explore`, `vla`) or subscribe to `backend.generate(…)`'s typed
 * `GenerationEvent`s. Every failure is an `SdkError` subclass with a `code`.
 *
 * The engine's parts (generation loop, processors, warpers, tokenizer, runtime sessions) are not
 * part of this surface; inside the repo they stay importable by path.
 *
 * @example
 * import { OnnxBackend, t2i, DEFAULT_MODEL_DIR } from 'emu-robotics/sdk';
 * const backend = await OnnxBackend.load(DEFAULT_MODEL_DIR);
 * const result = await t2i(backend, { prompt: 'a red block in the green bowl', seed: 7 });
 * await backend.close();
 *
 * @example
 * // Streaming: unsubscribe (or abort `signal`) to stop the ONNX work underneath.
 * backend.generate({ task: 'vla', prompt: goal, images: [frame] }, { signal })
 *   .subscribe((e) => { if (e.type === 'image.progress') console.log(`${e.rowsDone}/${e.rows} rows`); });
 */

// Backends: where generation runs (in-process ONNX today; implement `EmuBackend` for a remote host)
export type { EmuBackend } from './EmuBackend.ts';
export { OnnxBackend } from './OnnxBackend.ts';
export type { OnnxBackendOptions } from './OnnxBackend.ts';
export type { Device, SessionOptions } from './runtime/createSession.ts';
export { DEFAULT_MODEL_DIR } from './model/defaultModel.ts';

// Remote inference: the engine on another host (emu serve), the same EmuBackend; openBackend switches by a string.
export { RemoteBackend } from './remote/RemoteBackend.ts';
export type { RemoteBackendOptions, RemoteRequestOptions } from './remote/RemoteBackend.ts';
export { openBackend, isRemote } from './openBackend.ts';
export type { OpenBackendOptions } from './openBackend.ts';
export { EmuServer } from './remote/EmuServer.ts';
export type { EmuServerOptions } from './remote/EmuServer.ts';
export { localEngine } from './remote/serveRequest.ts';
export type { Engine, ServableBackend } from './remote/serveRequest.ts';
export { PROTOCOL_VERSION } from './remote/protocol.ts';
// Sessions: multi-turn generation that keeps its context (explore), in-process or remote.
export { GenerationSession, GenerationSessionOptionsSchema } from './session/GenerationSession.ts';
export type { GenerationSessionOptions, ContextDrop } from './session/GenerationSession.ts';
export { walkSession } from './session/EmuSession.ts';
export type { EmuSession, StepOptions, WalkOptions, WalkItem } from './session/EmuSession.ts';
export { RemoteSession } from './remote/RemoteSession.ts';
export type { Hello, ModelFacts, ServerLimits } from './remote/protocol.ts';

// Task helpers: one call, one awaited result
export { t2i, x2i, story, howto, explore, vla, collect } from './tasks.ts';
export type { TaskParams } from './tasks.ts';

// Requests (validated with these zod schemas at the backend's edge)
export { TaskRequestSchema, SamplingOverridesSchema } from './generation/TaskRequest.ts';
export type { TaskRequest, ParsedTaskRequest, RequestOptions, SamplingOverrides } from './generation/TaskRequest.ts';

// Events and results
export type { GenerationEvent, GenerationEventType, GenerationResult, OutputItem, Grid, Usage, StopReason, FinishReason, Truncation } from './generation/GenerationEvent.ts';

// Errors
export {
  SdkError,
  ConfigError,
  ModelError,
  InputError,
  EngineError,
  AbortError,
  TimeoutError,
  TransportError,
  OverloadedError,
  TruncatedError,
  errorFromCode,
  parseOrThrow,
  throwIfAborted,
  formatIssues,
} from './errors.ts';
export type { SdkErrorCode, ValidationIssue } from './errors.ts';

// Model folders: the `emu-model.json` manifest
export { TASKS, TaskNameSchema, ModelManifestSchema } from './model/ModelManifest.ts';
export type { TaskName, TaskConfig, SamplingPreset, ModeSampling, ModelManifest, ModelManifestInput } from './model/ModelManifest.ts';
export { loadManifest, MANIFEST_FILE } from './model/loadManifest.ts';
export type { LoadManifestOptions } from './model/loadManifest.ts';

// Images
export { RgbImageSchema, createRgbImage } from './image/RgbImage.ts';
export type { RgbImage } from './image/RgbImage.ts';
export { decodeImage, encodePng, readImageFile, writePng } from './image/codec.ts';
export type { DecodeImageOptions } from './image/codec.ts';

// Output: export folders (texts, PNGs, story.pb, index.html) and the `emu3p5.story` protobuf
export { exportResult } from './output/exportFolder.ts';
export type { ExportInput, ExportedFiles } from './output/exportFolder.ts';
export { toStory, encodeStory, decodeStory, codesOf } from './output/storyProto.ts';
export type { Story, StoryClip, StorySegment, StoryImageMeta, StoryImage, StoryTimeStamp } from './output/storyProto.ts';
