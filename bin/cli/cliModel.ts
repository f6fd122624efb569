import { fileURLToPath } from 'node:url';
import { loadManifest } from '../../sdk/model/loadManifest.ts';
import type { ModelManifest } from '../../sdk/model/ModelManifest.ts';
import { TiktokenTokenizer } from '../../sdk/tokenizer/TiktokenTokenizer.ts';

/** The Emu3.5 manifest shipped in the repository (`models/emu35`). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/emu35', import.meta.url));

/** Manifest + tokenizer for the text-only commands: ONNX files are not required. */
export async function loadTextModel(modelDir: string | undefined, ranksPath: string | undefined): Promise<{ manifest: ModelManifest; tokenizer: TiktokenTokenizer }> {
  const { manifest, dir } = await loadManifest(modelDir ?? DEFAULT_MODEL_DIR, { requireOnnx: false, ranksPath });
  const tokenizer = await TiktokenTokenizer.fromManifest(manifest, dir, { ranksPath });
  return { manifest, tokenizer };
}
