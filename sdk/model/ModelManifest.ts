import { z } from 'zod';

/**
 * `emu-model.json`: everything the engine needs to know about a model folder. Paths are relative to
 * the folder. One schema serves runtime validation and the TypeScript types (`z.infer`).
 */

export const TASKS = ['t2i', 'x2i', 'story', 'howto', 'explore', 'vla'] as const;
export const TaskNameSchema = z.enum(TASKS);
export type TaskName = z.infer<typeof TaskNameSchema>;

/** Top-k, top-p, temperature for one mode (text or image), applied in that order after T. */
export const ModeSamplingSchema = z.object({
  topK: z.number().int().positive().describe('top-k sampling'),
  topP: z.number().gt(0).lte(1).describe('nucleus (top-p) sampling'),
  temperature: z.number().gt(0).describe('sampling temperature'),
});
export type ModeSampling = z.infer<typeof ModeSamplingSchema>;

/** How the grid of an image is decoded: one token per forward pass, or several (see `sdk/generation/speculative/`, `sdk/generation/zipar/`). */
export const PARALLEL_SCHEMES = ['none', 'jacobi', 'zipar'] as const;
export const ParallelSchemeSchema = z.enum(PARALLEL_SCHEMES);
export type ParallelScheme = z.infer<typeof ParallelSchemeSchema>;

/** Image mode: the sampling settings plus the parallel decoding scheme (absent = `none`, sequential). */
export const ImageSamplingSchema = ModeSamplingSchema.extend({
  parallel: ParallelSchemeSchema.optional().describe(
    'grid decoding: none (one token per forward), jacobi (speculative Jacobi: draft tokens verified in one forward; the same tokens as none for the same seed, greedy or sampled) or zipar (rows in parallel, each a window behind the one above; approximate, needs a decoder with key_positions, else jacobi)',
  ),
  draftWindow: z.number().int().min(1).max(64).optional().describe('jacobi: draft tokens verified per forward (default 16)'),
  rowWindow: z.number().int().min(1).max(1024).optional().describe('zipar: tokens a row must be ahead of the next before that one starts (default 4)'),
});
export type ImageSampling = z.infer<typeof ImageSamplingSchema>;

export const SamplingPresetSchema = z.object({
  /** Classifier-free guidance scale s in `logp_u + s·(logp_c − logp_u)`; 1 disables the unconditional stream. */
  cfg: z.number().min(0),
  text: ModeSamplingSchema,
  image: ImageSamplingSchema,
  maxNewTokens: z.number().int().positive(),
  /** Pixel area reference images are resized to (`smart_resize`). @unit px² */
  imageArea: z.number().int().positive(),
});
export type SamplingPreset = z.infer<typeof SamplingPresetSchema>;

/**
 * Where a session's commands go, per task.
 *
 * - `user` (default): each command is a new USER turn after the model's answer ends (the template's
 *   own turn, `buildTurnPrompt`): what a model trained on multi-turn dialogues expects.
 * - `answer`: the session is one answer that the commands continue. A command is written as the
 *   model's next narration (emu-nano's explore answers narrate each camera move, then show the view),
 *   and the model draws the view; an empty command lets the model choose its own move. One view per
 *   step. A model trained on answers of at most `maxViews` views re-anchors past that: a fresh prompt
 *   whose reference image is the newest view (the older views are dropped, and the session says so),
 *   so every step stays in the shape the model was trained on.
 */
export const SessionTurnsSchema = z
  .object({
    placement: z.enum(['user', 'answer']).default('user'),
    /** `answer`: the USER turn of the anchoring prompt when the session was opened without a `prompt`. */
    question: z.string().default(''),
    /** `answer`: the most views one answer holds before the session re-anchors on the newest view. */
    maxViews: z.number().int().positive().optional(),
  })
  .strict();
export type SessionTurns = z.infer<typeof SessionTurnsSchema>;

export const TaskConfigSchema = z.object({
  /**
   * Conditional prompt. Placeholders: `{task}`, `{extra}`, `{question}`, `{images}` (all reference image
   * strings concatenated). Example: `<|extra_203|>You are a helpful assistant for {task} task.{extra} USER: {question}{images} ASSISTANT: <|extra_100|>`.
   */
  conditional: z.string().min(1),
  /** Unconditional (CFG negative) prompt when reference images exist; `{images}` as above. */
  unconditional: z.string().min(1),
  /** Unconditional prompt with no reference image (Emu3.5: two spaces between `USER:` and `ASSISTANT:`). */
  unconditionalNoImage: z.string().min(1),
  /** Text substituted for `{extra}`. */
  extra: z.string().default(''),
  sampling: SamplingPresetSchema,
  /** Single-image tasks (t2i, x2i) may stop at EOI. */
  singleImage: z.boolean().default(false),
  stopAtEoi: z.boolean().default(false),
  /** Aspect preset used when the request names none and no reference image fixes the grid. `auto` lets the model choose. */
  defaultAspect: z.string().optional(),
  /** How a multi-turn session (`openSession`) places each later command; default: a new USER turn. */
  session: SessionTurnsSchema.optional(),
});
export type TaskConfig = z.infer<typeof TaskConfigSchema>;

const DecoderIoSchema = z
  .object({
    inputIds: z.string().default('input_ids'),
    attentionMask: z.string().default('attention_mask'),
    positionIds: z.string().default('position_ids'),
    /** `{i}` is the layer index. */
    pastKey: z.string().default('past_key_values.{i}.key'),
    pastValue: z.string().default('past_key_values.{i}.value'),
    logits: z.string().default('logits'),
    presentKey: z.string().default('present.{i}.key'),
    presentValue: z.string().default('present.{i}.value'),
    /**
     * Optional int64 [1] input: how many of the last positions get logits. A graph with it never
     * materialises full-sequence logits at prefill (4k tokens × 282,926 vocab would be 4.6 GB); the
     * engine feeds 1. Graphs without it return `logits` [B,S,V] and the engine keeps the last row.
     */
    logitsToKeep: z.string().optional(),
    /**
     * Optional int64 [B,T] input: the position id of every cache slot, past and new. A key is then
     * visible to a query only when its position is ≤ the query's (as well as its slot being earlier and
     * its attention_mask 1): a per-query mask that keeps raster order in attention when a grid is
     * decoded out of order (`sampling.image.parallel: 'zipar'`). The engine always feeds it when named;
     * in-order decoding gives positions = slots, the plain causal mask.
     */
    keyPositions: z.string().optional(),
  })
  .prefault({});

/** Weight-only quantization of the decoder's linear layers (ONNX Runtime's `com.microsoft.MatMulNBits`). */
export const DecoderQuantizationSchema = z.object({
  method: z.literal('MatMulNBits'),
  bits: z.union([z.literal(4), z.literal(8)]),
  blockSize: z.union([z.literal(16), z.literal(32), z.literal(64), z.literal(128)]),
  /** MatMulNBits accuracy_level the graph was written with (4: int8 compute on CPU). */
  accuracyLevel: z.number().int().min(0).max(4).optional(),
});
export type DecoderQuantization = z.infer<typeof DecoderQuantizationSchema>;

export const DecoderSpecSchema = z.object({
  file: z.string().min(1),
  numLayers: z.number().int().positive(),
  numKvHeads: z.number().int().positive(),
  headDim: z.number().int().positive(),
  /** Activations and KV cache (the past/present tensors); logits may be float32 either way. */
  dtype: z.enum(['float32', 'float16']).default('float32'),
  /**
   * How past and present key/values relate. `concat` (default): present = past ++ new, a fresh
   * tensor each step. `shared`: the graph appends in place (`com.microsoft.GroupQueryAttention`) into
   * a buffer the engine preallocates with room for the context, bound as both past and present, so
   * a step writes its own positions and never copies the history.
   */
  kvCache: z.enum(['concat', 'shared']).default('concat'),
  /** Set when the linear layers' weights are quantized; absent for plain float weights. */
  quantization: DecoderQuantizationSchema.optional(),
  /** Context length the model was trained for; longer prompts are an InputError. */
  maxPositions: z.number().int().positive(),
  io: DecoderIoSchema,
});
export type DecoderSpec = z.infer<typeof DecoderSpecSchema>;

export const VisionSpecSchema = z.object({
  /** `pixel_values` float32 [B,3,H,W] in [-1,1] → `codes` int64 [B,H/f,W/f]. */
  encoder: z.string().min(1),
  /** `codes` int64 [B,h,w] → `pixel_values` float32 [B,3,h·f,w·f] in [-1,1]. */
  decoder: z.string().min(1),
  downsample: z.number().int().positive(),
  /** Pixels map to `x/scale − shift` (Emu3.5: x/127.5 − 1). */
  normalize: z.object({ scale: z.number().positive(), shift: z.number() }).prefault({ scale: 127.5, shift: 1 }),
  io: z
    .object({
      encoderInput: z.string().default('pixel_values'),
      encoderOutput: z.string().default('codes'),
      decoderInput: z.string().default('codes'),
      decoderOutput: z.string().default('pixel_values'),
    })
    .prefault({}),
});
export type VisionSpec = z.infer<typeof VisionSpecSchema>;

export const SpecialIdsSchema = z.object({
  pad: z.number().int().nonnegative(),
  bos: z.number().int().nonnegative(),
  eos: z.number().int().nonnegative(),
  bss: z.number().int().nonnegative(),
  ess: z.number().int().nonnegative(),
  boi: z.number().int().nonnegative(),
  eoi: z.number().int().nonnegative(),
  img: z.number().int().nonnegative(),
  eol: z.number().int().nonnegative(),
  eof: z.number().int().nonnegative().optional(),
  boc: z.number().int().nonnegative(),
  eoc: z.number().int().nonnegative(),
  bog: z.number().int().nonnegative(),
  eog: z.number().int().nonnegative(),
});
export type SpecialIds = z.infer<typeof SpecialIdsSchema>;

export const ModelManifestSchema = z.object({
  name: z.string().min(1),
  version: z.string().default('0'),
  description: z.string().optional(),
  tokenizer: z.object({
    /** tiktoken-format ranks file: `base64(token) rank` per line. */
    ranks: z.string().min(1),
    /** Pre-tokenisation regex: `qwen` = Qwen/cl100k PAT_STR. */
    pattern: z.enum(['qwen']).default('qwen'),
    /**
     * Special tokens in id order, starting at `specialStart` (default: the number of ranks).
     * Emu3.5: `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`, `<|extra_0|>`…`<|extra_204|>`,
     * `<|image token|>`, `<|image start|>`, `<|image end|>`.
     */
    specialTokens: z.array(z.string().min(1)).min(1),
    specialStart: z.number().int().nonnegative().optional(),
    /** printf-style name of visual code k, id = visualOffset + k. */
    visualTokenFormat: z.string().default('<|visual token %06d|>'),
    normalization: z.enum(['NFC', 'none']).default('NFC'),
  }),
  vocab: z.object({
    size: z.number().int().positive(),
    visualOffset: z.number().int().nonnegative(),
    codebookSize: z.number().int().positive(),
    ids: SpecialIdsSchema,
  }),
  decoder: DecoderSpecSchema,
  vision: VisionSpecSchema,
  tasks: z.partialRecord(TaskNameSchema, TaskConfigSchema),
  imageSizing: z.object({
    /** Aspect name → [rows, cols] token grid. */
    aspectPresets: z.record(z.string(), z.tuple([z.number().int().positive(), z.number().int().positive()])),
    /** Default seed when a request gives none. */
    defaultSeed: z.number().int().default(6666),
  }),
});
export type ModelManifest = z.infer<typeof ModelManifestSchema>;
export type ModelManifestInput = z.input<typeof ModelManifestSchema>;
