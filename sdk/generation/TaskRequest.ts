import { z } from 'zod';
import { TaskNameSchema, ModeSamplingSchema, ImageSamplingSchema } from '../model/ModelManifest.ts';
import { RgbImageSchema } from '../image/RgbImage.ts';

/** A token grid `[rows, cols]` as requests give it (1..99 each way, as the header's two digits allow). */
export const GridTupleSchema = z.tuple([z.number().int().min(1).max(99), z.number().int().min(1).max(99)]);

/** Per-request overrides of the task's sampling preset; anything left out comes from the manifest. */
export const SamplingOverridesSchema = z
  .object({
    cfg: z.number().min(0).describe('classifier-free guidance scale (1: off)'),
    text: ModeSamplingSchema.partial(),
    image: ImageSamplingSchema.partial(),
    maxNewTokens: z.number().int().positive().describe('most tokens generated'),
    imageArea: z.number().int().positive().describe('pixel area reference images are resized to'),
  })
  .partial()
  .strict();
export type SamplingOverrides = z.infer<typeof SamplingOverridesSchema>;

/** What a caller asks of the model. Validated once at the SDK's entry point. */
export const TaskRequestSchema = z
  .object({
    task: TaskNameSchema,
    /** The user's question / instruction (`{question}` in the template). */
    prompt: z.string(),
    /** Reference images, in order (x2i: 1–3; vla: the current camera frame). */
    images: z.array(RgbImageSchema).default([]),
    /** Same seed + same inputs + same model → same tokens. Default: the manifest's (6666). */
    seed: z.number().int().optional(),
    sampling: SamplingOverridesSchema.optional(),
    /** t2i aspect preset name (`1:1`, `4:3`, … or `auto`). */
    aspect: z.string().optional(),
    /** Explicit token grid [rows, cols] for generated images; wins over presets and inheritance. */
    grid: GridTupleSchema.optional(),
    /** Run the vision decoder on generated images (default true). */
    decodeImages: z.boolean().default(true),
    /** Parse special-token names in `prompt` (power users). Default false: only templates insert them. */
    allowSpecialTokens: z.boolean().default(false),
  })
  .strict();
export type TaskRequest = z.input<typeof TaskRequestSchema>;
export type ParsedTaskRequest = z.output<typeof TaskRequestSchema>;

/** Transport-level options, kept apart from the request data (openai-node style). */
export interface RequestOptions {
  signal?: AbortSignal;
}
