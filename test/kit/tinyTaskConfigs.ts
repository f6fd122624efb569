import type { ModeSampling, SamplingPreset, TaskConfig, TaskName } from '../../sdk/model/ModelManifest.ts';

const SYSTEM = '<|extra_203|>You are a helpful assistant for {task} task.{extra}';
const CONDITIONAL = `${SYSTEM} USER: {question}{images} ASSISTANT: <|extra_100|>`;
const CONDITIONAL_IMAGES_FIRST = `${SYSTEM} USER: {images}{question} ASSISTANT: <|extra_100|>`;
const UNCONDITIONAL = '<|extra_203|>You are a helpful assistant. USER: {images} ASSISTANT: <|extra_100|>';
const UNCONDITIONAL_NO_IMAGE = '<|extra_203|>You are a helpful assistant. USER:  ASSISTANT: <|extra_100|>';
const INTERLEAVED_EXTRA = ' Please generate a response with interleaved text and images.';

/** Small budgets so tests finish quickly: a 2×2 image is 11 tokens. */
const SINGLE_IMAGE_MAX_NEW = 64;
const INTERLEAVED_MAX_NEW = 256;

const mode = (topK: number, topP: number, temperature: number): ModeSampling => ({ topK, topP, temperature });

/**
 * Emu3.5's shipped templates and sampling presets (reference §3, §5.6), with `maxNewTokens` and `imageArea`
 * shrunk for test models. `imageArea` should map a reference image onto a tiny grid (e.g. (2·f)² → 2×2).
 */
export function tinyTaskConfigs(imageArea: number): Record<TaskName, TaskConfig> {
  const preset = (cfg: number, text: ModeSampling, imageTopK: number, maxNewTokens: number): SamplingPreset => ({
    cfg,
    text,
    image: mode(imageTopK, 1, 1),
    maxNewTokens,
    imageArea,
  });
  const task = (conditional: string, sampling: SamplingPreset, rest: Partial<TaskConfig> = {}): TaskConfig => ({
    conditional,
    unconditional: UNCONDITIONAL,
    unconditionalNoImage: UNCONDITIONAL_NO_IMAGE,
    extra: '',
    sampling,
    singleImage: false,
    stopAtEoi: false,
    ...rest,
  });
  const single = { singleImage: true, stopAtEoi: true };
  const interleaved = (text: ModeSampling, imageTopK = 10240) => preset(3, text, imageTopK, INTERLEAVED_MAX_NEW);
  return {
    t2i: task(CONDITIONAL, preset(5, mode(1024, 0.9, 1), 5120, SINGLE_IMAGE_MAX_NEW), { ...single, defaultAspect: '1:1' }),
    x2i: task(CONDITIONAL_IMAGES_FIRST, preset(3, mode(1024, 0.9, 1), 5120, SINGLE_IMAGE_MAX_NEW), single),
    story: task(CONDITIONAL, interleaved(mode(1024, 0.9, 1))),
    howto: task(CONDITIONAL, interleaved(mode(200, 0.8, 0.7)), { extra: INTERLEAVED_EXTRA }),
    explore: task(CONDITIONAL, interleaved(mode(200, 0.5, 0.7), 5120), { extra: INTERLEAVED_EXTRA }),
    vla: task(CONDITIONAL, interleaved(mode(1024, 0.9, 1))),
  };
}

/** Aspect presets on small grids, named like Emu3.5's (`w:h` → [rows, cols]). */
export const TINY_ASPECT_PRESETS: Record<string, [number, number]> = {
  '1:1': [2, 2],
  '4:3': [3, 4],
  '3:4': [4, 3],
  '16:9': [2, 4],
  '9:16': [4, 2],
  default: [3, 4],
};
