import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest } from '../../../sdk/model/loadManifest.ts';
import type { ModelManifest } from '../../../sdk/model/ModelManifest.ts';
import { TiktokenTokenizer } from '../../../sdk/tokenizer/TiktokenTokenizer.ts';
import { sharedEmu35Dir } from '../../kit/sharedEmu35Dir.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Shared real data (never copied into the repo): `<repo>/../shared/emu35` (see sharedEmu35Dir). */
export const SHARED_EMU35 = sharedEmu35Dir();
export const RANKS_PATH = path.join(SHARED_EMU35, 'emu3.tiktoken');
export const EMU35_MODEL_DIR = path.join(REPO_ROOT, 'models/emu35');
export const HAVE_SHARED = existsSync(RANKS_PATH);

export interface Golden {
  text: { text: string; ids: number[] }[];
  prompts: { task: string; question: string; images: number[][][]; cond_ids: number[]; uncond_ids: number[] }[];
  resize: { width: number; height: number; area: number; out_width: number; out_height: number; grid: [number, number] }[];
}

export function golden(): Golden {
  return JSON.parse(readFileSync(path.join(SHARED_EMU35, 'golden-tokens.json'), 'utf8')) as Golden;
}

let cached: Promise<{ manifest: ModelManifest; tokenizer: TiktokenTokenizer }> | undefined;

/** The repo's Emu3.5 manifest with the shared ranks file; loaded once per test process. */
export function emu35(): Promise<{ manifest: ModelManifest; tokenizer: TiktokenTokenizer }> {
  cached ??= (async () => {
    const { manifest, dir } = await loadManifest(EMU35_MODEL_DIR, { requireOnnx: false, ranksPath: RANKS_PATH });
    return { manifest, tokenizer: await TiktokenTokenizer.fromManifest(manifest, dir, { ranksPath: RANKS_PATH }) };
  })();
  return cached;
}

/** Skips the calling suite when the shared Emu3.5 data is absent (e.g. a bare CI checkout). */
export function requireShared(ctx: Mocha.Context): void {
  if (!HAVE_SHARED) ctx.skip();
}
