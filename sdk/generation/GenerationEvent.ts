import type { RgbImage } from '../image/RgbImage.ts';
import type { ParallelScheme, TaskName } from '../model/ModelManifest.ts';

export interface Grid {
  rows: number;
  cols: number;
}

/** One item of the parsed output, as the reference's `multimodal_decode` yields them. */
export type OutputItem =
  | { type: 'text'; text: string }
  | { type: 'global_cot'; text: string }
  | { type: 'image_cot'; text: string }
  | { type: 'image'; grid: Grid; /** codebook indices, row-major, rows*cols */ codes: number[]; image?: RgbImage };

/** Why the stopping criteria ended a generation. `aborted` never finishes one: the stream errors with AbortError instead. */
export type StopReason = 'eos' | 'eoi' | 'max_tokens' | 'aborted';
/** How a finished generation (its `done` event) ended. `max_tokens`: the budget cut it off (`done.truncated` says where). */
export type FinishReason = Exclude<StopReason, 'aborted'>;

export interface Usage {
  promptTokens: number;
  uncondPromptTokens: number;
  generatedTokens: number;
  /**
   * Forward passes per stream. `image`: passes whose logits decided a grid token, both streams counted
   * (sequential decoding: 1 per grid token, 2 under guidance run as two passes). `batched`: passes that
   * ran both guidance streams as one batch-2 forward; each counts once, in `cond`.
   */
  forwardPasses: { cond: number; uncond: number; image?: number; batched?: number };
  /** Grid tokens generated (visual codes, EOL, EOI): `forwardPasses.image / imageTokens` is passes per image token. */
  imageTokens?: number;
  /** The grid scheme that ran (`sampling.image.parallel`; 'zipar' on a decoder without a position mask runs 'jacobi'). */
  imageDecoding?: ParallelScheme;
  /** `samplingMs`: host time in processors, warpers and sampling (within prefill/decode). */
  timings: { prefillMs: number; decodeMs: number; visionMs: number; samplingMs?: number; totalMs: number };
  stopReason: FinishReason;
}

/**
 * What a generation that ran out of its token budget (`stopReason: 'max_tokens'`) left unfinished.
 * Present on the `done` event (and the result) exactly when `usage.stopReason` is `max_tokens`.
 */
export interface Truncation {
  reason: 'max_tokens';
  /**
   * The image being drawn when the budget ran out. It is not in `output` (an unterminated image is
   * dropped by the parser); `codes` are the visual codes generated so far, row-major.
   */
  image?: { index: number; grid?: Grid; rowsDone: number; codes: number[] };
}

/** The typed stream a generation emits, discriminated on `type`. */
export type GenerationEvent =
  | { type: 'start'; task: TaskName; promptTokens: number; uncondPromptTokens: number; seed: number }
  | { type: 'text.delta'; text: string }
  | { type: 'cot.delta'; kind: 'global' | 'image'; text: string }
  | { type: 'image.start'; index: number; grid: Grid }
  | { type: 'image.progress'; index: number; rowsDone: number; rows: number }
  | { type: 'image.done'; index: number; grid: Grid; codes: number[]; image?: RgbImage }
  | { type: 'done'; output: OutputItem[]; tokens: number[]; usage: Usage; /** Set when the budget cut the output off. */ truncated?: Truncation };

export type GenerationEventType = GenerationEvent['type'];

/** What the promise helpers resolve to. */
export interface GenerationResult {
  task: TaskName;
  output: OutputItem[];
  tokens: number[];
  usage: Usage;
  /** Set when the token budget cut the output off (an image half drawn, a plan or story unfinished). */
  truncated?: Truncation;
}
