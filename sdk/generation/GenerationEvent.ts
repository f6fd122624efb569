import type { RgbImage } from '../image/RgbImage.ts';
import type { TaskName } from '../model/ModelManifest.ts';

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
/** How a finished generation (its `done` event) ended. `max_tokens` means the output may be cut off. */
export type FinishReason = Exclude<StopReason, 'aborted'>;

export interface Usage {
  promptTokens: number;
  uncondPromptTokens: number;
  generatedTokens: number;
  forwardPasses: { cond: number; uncond: number };
  timings: { prefillMs: number; decodeMs: number; visionMs: number; totalMs: number };
  stopReason: FinishReason;
}

/** The typed stream a generation emits, discriminated on `type`. */
export type GenerationEvent =
  | { type: 'start'; task: TaskName; promptTokens: number; uncondPromptTokens: number; seed: number }
  | { type: 'text.delta'; text: string }
  | { type: 'cot.delta'; kind: 'global' | 'image'; text: string }
  | { type: 'image.start'; index: number; grid: Grid }
  | { type: 'image.progress'; index: number; rowsDone: number; rows: number }
  | { type: 'image.done'; index: number; grid: Grid; codes: number[]; image?: RgbImage }
  | { type: 'done'; output: OutputItem[]; tokens: number[]; usage: Usage };

export type GenerationEventType = GenerationEvent['type'];

/** What the promise helpers resolve to. */
export interface GenerationResult {
  task: TaskName;
  output: OutputItem[];
  tokens: number[];
  usage: Usage;
}
