import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { loadManifest } from '../../sdk/model/loadManifest.ts';
import type { ModelManifest } from '../../sdk/model/ModelManifest.ts';
import { TiktokenTokenizer } from '../../sdk/tokenizer/TiktokenTokenizer.ts';

export { DEFAULT_MODEL_DIR };

/** Manifest + tokenizer for the text-only commands: ONNX files are not required. */
export async function loadTextModel(modelDir: string | undefined, ranksPath: string | undefined): Promise<{ manifest: ModelManifest; tokenizer: TiktokenTokenizer }> {
  const { manifest, dir } = await loadManifest(modelDir ?? DEFAULT_MODEL_DIR, { requireOnnx: false, ranksPath });
  const tokenizer = await TiktokenTokenizer.fromManifest(manifest, dir, { ranksPath });
  return { manifest, tokenizer };
}
