import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Where the real Emu3.5 release data lives (ranks, golden tokens, reference photos). It is never
 * copied into the repo: `$EMU35_SHARED_DIR`, else `<repo>/../shared/emu35`, else `/work/shared/emu35`
 * (the workplace's copy, for clones made elsewhere). Returns the first that exists, or the
 * `<repo>/../shared/emu35` default so error messages name the expected place.
 */
export function sharedEmu35Dir(): string {
  const candidates = [process.env.EMU35_SHARED_DIR, path.resolve(REPO_ROOT, '../shared/emu35'), '/work/shared/emu35'].filter(
    (p): p is string => !!p,
  );
  return candidates.find((p) => existsSync(path.join(p, 'emu3.tiktoken'))) ?? path.resolve(REPO_ROOT, '../shared/emu35');
}
