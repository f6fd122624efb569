import { spawnSync } from 'node:child_process';

/** Debian's interpreter: the one `training/setup.sh` and `.ci/run` install python3-torch for (not a pyenv shim). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

let cached: { python: string } | { missing: string } | undefined;

/**
 * The Python that can run the official Emu3.5 code (torch, numpy, yaml), or the reason it cannot.
 * Conformance tests call `this.skip()` on a reason, except where `EMU_REQUIRE_TORCH=1` (CI installs
 * python3-torch and sets it): there a missing torch fails the test instead of hiding it.
 */
export function torchPython(): { python: string } | { missing: string } {
  if (cached) return cached;
  const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import torch, numpy, yaml; print(torch.__version__)'], { encoding: 'utf8' });
  cached = probe.status === 0 ? { python: SYSTEM_PYTHON } : { missing: `${SYSTEM_PYTHON} cannot import torch/numpy/yaml (run training/setup.sh): ${(probe.stderr || String(probe.error)).trim().split('\n').at(-1)}` };
  if ('missing' in cached && process.env.EMU_REQUIRE_TORCH === '1') throw new Error(`EMU_REQUIRE_TORCH=1 but ${cached.missing}`);
  return cached;
}
