// The public SDK surface: re-exports only.

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
  parseOrThrow,
  throwIfAborted,
  formatIssues,
} from './errors.ts';
export type { SdkErrorCode, ValidationIssue } from './errors.ts';

// Backend and task helpers
export type { EmuBackend } from './EmuBackend.ts';
export { OnnxBackend } from './OnnxBackend.ts';
export type { OnnxBackendOptions } from './OnnxBackend.ts';
export { t2i, x2i, story, howto, explore, vla, collect } from './tasks.ts';
export type { TaskParams } from './tasks.ts';

// Requests and events
export { TaskRequestSchema, SamplingOverridesSchema } from './generation/TaskRequest.ts';
export type { TaskRequest, ParsedTaskRequest, RequestOptions, SamplingOverrides } from './generation/TaskRequest.ts';
export type { GenerationEvent, GenerationEventType, GenerationResult, OutputItem, Grid, Usage, StopReason } from './generation/GenerationEvent.ts';

// Generation engine
export { generate } from './generation/generate.ts';
export { GenerationLoop } from './generation/GenerationLoop.ts';
export type { GenerationLoopParams, LoopIds } from './generation/GenerationLoop.ts';
export type { CausalLm } from './generation/CausalLm.ts';
export type { LogitsProcessor } from './generation/LogitsProcessor.ts';
export type { LogitsWarper } from './generation/LogitsWarper.ts';
export { Candidates } from './generation/Candidates.ts';
export { CategoricalSampler } from './generation/CategoricalSampler.ts';
export { mulberry32 } from './generation/mulberry32.ts';
export { ImageGrammar } from './generation/ImageGrammar.ts';
export type { GrammarStep, GrammarTransition } from './generation/ImageGrammar.ts';
export { EMU35_GRAMMAR_IDS } from './generation/GrammarIds.ts';
export type { GrammarIds } from './generation/GrammarIds.ts';
export { headerTokens, parseHeader, lastHeaderGrid } from './generation/headerGrid.ts';
export { resolveImageSize } from './generation/resolveImageSize.ts';
export type { ImageSizeInputs } from './generation/resolveImageSize.ts';
export { resolveSampling } from './generation/resolveSampling.ts';
export { buildWarpers } from './generation/buildWarpers.ts';
export { TextStreamer } from './generation/TextStreamer.ts';
export type { TextStreamerIds } from './generation/TextStreamer.ts';
export { CfgCombine, logSumExp } from './generation/processors/CfgCombine.ts';
export { TextModeMask } from './generation/processors/TextModeMask.ts';
export { HeaderConstraint } from './generation/processors/HeaderConstraint.ts';
export type { HeaderRule } from './generation/processors/HeaderConstraint.ts';
export { GridConstraint } from './generation/processors/GridConstraint.ts';
export { TemperatureWarper } from './generation/warpers/TemperatureWarper.ts';
export { TopKWarper } from './generation/warpers/TopKWarper.ts';
export { TopPWarper } from './generation/warpers/TopPWarper.ts';
export { quickselect } from './generation/warpers/quickselect.ts';

// Runtime (onnxruntime-node)
export { createSession, defaultThreads } from './runtime/createSession.ts';
export type { Device, SessionOptions } from './runtime/createSession.ts';
export { DecoderSession } from './runtime/DecoderSession.ts';
export { VisionTokenizer } from './runtime/VisionTokenizer.ts';
export type { EncodedImage } from './runtime/VisionTokenizer.ts';
export { checkSessionIo } from './runtime/checkSessionIo.ts';
export type { IoExpectation } from './runtime/checkSessionIo.ts';

// Model manifest
export {
  TASKS,
  TaskNameSchema,
  ModeSamplingSchema,
  SamplingPresetSchema,
  TaskConfigSchema,
  DecoderSpecSchema,
  VisionSpecSchema,
  SpecialIdsSchema,
  ModelManifestSchema,
} from './model/ModelManifest.ts';
export type { TaskName, ModeSampling, SamplingPreset, TaskConfig, DecoderSpec, VisionSpec, SpecialIds, ModelManifest, ModelManifestInput } from './model/ModelManifest.ts';
export { loadManifest, resolveModelPath, checkConsistency, MANIFEST_FILE } from './model/loadManifest.ts';
export type { LoadManifestOptions } from './model/loadManifest.ts';

// Tokenizer and prompts
export { TiktokenTokenizer } from './tokenizer/TiktokenTokenizer.ts';
export type { TiktokenOptions } from './tokenizer/TiktokenTokenizer.ts';
export { loadRanks, parseRanks } from './tokenizer/loadRanks.ts';
export type { Ranks } from './tokenizer/loadRanks.ts';
export { qwenPattern, QWEN_PAT_SOURCE } from './tokenizer/qwenPattern.ts';
export { visualTokenCodec } from './tokenizer/visualTokenCodec.ts';
export type { VisualTokenCodec } from './tokenizer/visualTokenCodec.ts';
export { buildPrompts } from './prompt/buildPrompts.ts';
export type { PromptImage, BuildPromptsArgs } from './prompt/buildPrompts.ts';
export { imageTokenIds, headerTokenIds } from './prompt/imageTokens.ts';
export type { CodeGrid } from './prompt/imageTokens.ts';

// Images
export { RgbImageSchema, createRgbImage } from './image/RgbImage.ts';
export type { RgbImage } from './image/RgbImage.ts';
export { smartResize } from './image/smartResize.ts';
export { toPixelValues, fromPixelValues, resizeRgb } from './image/preprocess.ts';
export type { PixelNormalize } from './image/preprocess.ts';
export { decodeImage, encodePng, readImageFile, writePng } from './image/codec.ts';

// Output
export { multimodalDecode } from './output/multimodalDecode.ts';
export type { DecodedItem } from './output/multimodalDecode.ts';
export { EMU35_MARKERS, outputMarkersFor } from './output/outputMarkers.ts';
export type { OutputMarkers } from './output/outputMarkers.ts';
export { exportResult } from './output/exportFolder.ts';
export type { ExportInput, ExportedFiles } from './output/exportFolder.ts';
export { toStory, encodeStory, decodeStory, codesOf, IMAGE_FORMAT, CODES_FEATURE, GRID_FEATURE } from './output/storyProto.ts';
export type { Story, StoryClip, StorySegment, StoryImageMeta, StoryImage, StoryTimeStamp } from './output/storyProto.ts';

// The embedded default model
export { DEFAULT_MODEL_DIR } from './model/defaultModel.ts';
