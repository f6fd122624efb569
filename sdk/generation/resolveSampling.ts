import { parseOrThrow } from '../errors.ts';
import { SamplingPresetSchema, type SamplingPreset } from '../model/ModelManifest.ts';
import { SamplingOverridesSchema, type SamplingOverrides } from './TaskRequest.ts';

/** The task preset with the request's overrides merged in (mode by mode), validated as a whole. */
export function resolveSampling(preset: SamplingPreset, overrides: SamplingOverrides | undefined): SamplingPreset {
  const o = parseOrThrow(SamplingOverridesSchema, overrides ?? {}, 'sampling overrides');
  const merged = {
    ...preset,
    ...o,
    text: { ...preset.text, ...o.text },
    image: { ...preset.image, ...o.image },
  };
  return parseOrThrow(SamplingPresetSchema, merged, 'sampling (preset + overrides)');
}
