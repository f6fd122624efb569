/**
 * Where the training toolchain's files live: the one definition for both languages. The TypeScript
 * scripts under training/ import the resolved paths below; training/sharedTables.ts writes the
 * repo-relative table into training/nano/shared_tables.json, which training/nano/paths.py loads, so
 * the Python argparse defaults are these same paths. Every path resolves from this file's location,
 * not the cwd, and moving the data folder is a one-line change here (then regenerate the table).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MODEL_DIR } from '../sdk/model/defaultModel.ts';

/** The repository root. */
export const ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

/** `abs` relative to the repository root, with `/` separators. */
function fromRoot(abs: string): string {
  return path.relative(ROOT, abs).split(path.sep).join('/');
}

/** The toolchain's layout, relative to the repository root, with `/` separators. */
export const TRAINING_LAYOUT = {
  /** Everything a training run builds or downloads (git-ignored). */
  data: 'training/data',
  /** `emu sim export` folders, DATA/export/<task>-<split>. */
  export: 'training/data/export',
  /** The vision tokenizer (training/nano/vision.py). */
  vision: 'training/data/vision',
  /** The BPE ranks (training/nano/bpe_train.py). */
  ranks: 'training/data/nano.tiktoken',
  /** The tokenized export (training/nano/prepare.py); the derived token folders sit beside it. */
  tokens: 'training/data/tokens',
  /** Story drills and replays as JSON lines (training/storyDrill.ts, training/storyReplay.ts). */
  drill: 'training/data/drill',
  /** The decoder's ONNX export (training/nano/export_onnx.py). */
  decoder: 'training/data/decoder.onnx',
  /** The training run (checkpoint, log, eval). */
  runs: 'training/runs/nano',
  ckpt: 'training/runs/nano/ckpt.pt',
  eval: 'training/runs/nano/eval.json',
  /** The schedule training/nano/recipe.py replays. */
  recipe: 'training/recipe.json',
  /** The shipped model folder training/nano/package.py writes: the SDK's DEFAULT_MODEL_DIR. */
  model: fromRoot(DEFAULT_MODEL_DIR),
} as const;

/** A path under the repository root. */
export function repoPath(rel: string): string {
  return path.join(ROOT, ...rel.split('/'));
}

export const DATA = repoPath(TRAINING_LAYOUT.data);
export const EXPORT = repoPath(TRAINING_LAYOUT.export);
export const DRILL = repoPath(TRAINING_LAYOUT.drill);
export const MODEL = DEFAULT_MODEL_DIR;
