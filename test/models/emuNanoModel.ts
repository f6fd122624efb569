import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelManifestSchema, type ModelManifest } from '../../sdk/model/ModelManifest.ts';

/** The emu-nano folder under test (`EMU_NANO_DIR` points the tests at another build of it). */
export const NANO_DIR = process.env.EMU_NANO_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models/emu-nano');

export function loadNanoManifest(): ModelManifest {
  return ModelManifestSchema.parse(JSON.parse(readFileSync(path.join(NANO_DIR, 'emu-model.json'), 'utf8')));
}

export interface DecoderTrace {
  task: string;
  /** Prompt as text (image strings inline), its question and input code grids. */
  text: string;
  question: string;
  images: number[][][];
  prompt: number[];
  /** The unconditional-stream prompt the t2i/x2i unconditional training examples start with. */
  uncondPrompt: number[];
  prefillTopIds: number[];
  prefillTopValues: number[];
  prefillArgmax: number;
  greedy: number[];
  stepTopValues: number[][];
}

export interface NanoParity {
  tolerance: number;
  tokenizer: { text: string; ids: number[] }[];
  decoder: DecoderTrace[];
  vision: { id: string; png: string; codes: number[][]; layout: unknown }[];
}

export function loadNanoParity(): NanoParity {
  return JSON.parse(readFileSync(path.join(NANO_DIR, 'parity.json'), 'utf8')) as NanoParity;
}
