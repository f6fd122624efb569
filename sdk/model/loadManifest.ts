import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, ModelError, parseOrThrow } from '../errors.ts';
import { ModelManifestSchema, type ModelManifest } from './ModelManifest.ts';

export const MANIFEST_FILE = 'emu-model.json';

export interface LoadManifestOptions {
  /** Check that the decoder / vision ONNX files exist. @default true */
  requireOnnx?: boolean;
  /** Use this ranks file instead of the manifest's `tokenizer.ranks`. */
  ranksPath?: string;
}

/**
 * Absolute path of a manifest-relative path, which must stay inside the model folder: no absolute
 * paths, no `..` escapes. A file inside the folder may itself be a symlink (weights linked in from
 * elsewhere are fine); what the manifest names may not leave the folder. The error never shows the
 * file's contents.
 */
export function resolveModelPath(dir: string, rel: string): string {
  const root = path.resolve(dir);
  const resolved = path.resolve(root, rel);
  const inside = path.relative(root, resolved);
  if (path.isAbsolute(rel) || inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    throw new ConfigError(`manifest path '${rel}' is not a file inside the model folder ${root}`);
  }
  return resolved;
}

/**
 * Reads and validates `<modelDir>/emu-model.json`: schema (ConfigError), referenced files
 * (ModelError `model_missing`) and internal consistency of the vocabulary layout (ModelError `model_mismatch`).
 */
export async function loadManifest(modelDir: string, opts: LoadManifestOptions = {}): Promise<{ manifest: ModelManifest; dir: string }> {
  const dir = path.resolve(modelDir);
  const manifest = parseOrThrow(ModelManifestSchema, await readManifestJson(dir), `${MANIFEST_FILE} in ${dir}`);
  const ranksPath = opts.ranksPath ?? resolveModelPath(dir, manifest.tokenizer.ranks);
  await requireFile(ranksPath, 'tokenizer ranks');
  if (opts.requireOnnx !== false) {
    await requireFile(resolveModelPath(dir, manifest.decoder.file), 'decoder ONNX');
    await requireFile(resolveModelPath(dir, manifest.vision.encoder), 'vision encoder ONNX');
    await requireFile(resolveModelPath(dir, manifest.vision.decoder), 'vision decoder ONNX');
  }
  checkConsistency(manifest, await countRanks(ranksPath));
  return { manifest, dir };
}

async function readManifestJson(dir: string): Promise<unknown> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelError('model_missing', `No model manifest at ${file}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file} is not valid JSON: ${(err as Error).message}`, [], { cause: err });
  }
}

async function requireFile(file: string, what: string): Promise<void> {
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile()) throw new ModelError('model_missing', `Missing ${what} file: ${file}`);
}

async function countRanks(file: string): Promise<number> {
  const text = await readFile(file, 'latin1');
  let n = 0;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
    if (i > start) n++;
    start = i + 1;
  }
  return start < text.length ? n + 1 : n;
}

/** Exported for tests and for manifests built in memory. */
export function checkConsistency(m: ModelManifest, rankCount: number): void {
  const { size, visualOffset, codebookSize, ids } = m.vocab;
  const specialStart = m.tokenizer.specialStart ?? rankCount;
  const specialEnd = specialStart + m.tokenizer.specialTokens.length;
  const fail = (msg: string) => {
    throw new ModelError('model_mismatch', `${m.name}: ${msg}`);
  };
  if (size !== visualOffset + codebookSize) fail(`vocab.size ${size} != visualOffset ${visualOffset} + codebookSize ${codebookSize} (${visualOffset + codebookSize})`);
  if (specialStart < rankCount) fail(`tokenizer.specialStart ${specialStart} overlaps the ${rankCount} BPE ranks`);
  if (specialEnd > visualOffset) fail(`special tokens end at id ${specialEnd - 1}, past visualOffset ${visualOffset}`);
  for (const [role, id] of Object.entries(ids)) {
    if (id === undefined) continue;
    if (id < specialStart || id >= specialEnd) fail(`vocab.ids.${role} = ${id} is not a special-token id (${specialStart}..${specialEnd - 1})`);
  }
}
