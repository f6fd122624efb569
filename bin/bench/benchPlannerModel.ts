import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildTinyModel } from '../../test/kit/buildTinyModel.ts';

/** p-th percentile (nearest rank) of `xs`; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * The bridge benches' model: `dir` when given, else a tiny random model built in a temp folder,
 * biased to open images and end soon (plans with keyframes in ≤ 60 tokens). `cleanup()` removes it.
 */
export async function benchPlannerModel(dir: string | undefined): Promise<{ dir: string; cleanup(): void }> {
  if (dir) return { dir, cleanup: () => undefined };
  const tmp = mkdtempSync(path.join(tmpdir(), 'emu-bridge-bench-'));
  const modelDir = path.join(tmp, 'model');
  const probe = await buildTinyModel(modelDir, { seed: 3 });
  const { boi, eos } = probe.manifest.vocab.ids;
  await buildTinyModel(modelDir, { seed: 3, logitBias: { [boi]: 6, [eos]: 2.5 }, tasks: { vla: { sampling: { maxNewTokens: 60 } } } });
  return { dir: modelDir, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}
