import { fileURLToPath } from 'node:url';

/** The embedded default model shipped in the repo (`models/emu-nano`): no download, CPU-sized. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/emu-nano', import.meta.url));
