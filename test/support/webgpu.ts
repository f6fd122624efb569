import { probeProviders } from '../../sdk/model/checkModel.ts';

let cached: { ok: true } | { missing: string } | undefined;

/**
 * Whether a WebGPU session really opens here (a GPU, or Mesa 25's lavapipe from
 * `bin/setup/webgpu-software.sh`), or why not. WebGPU tests skip on a reason, except where
 * `EMU_REQUIRE_WEBGPU=1` (CI sets it once the setup script succeeded): there they fail instead.
 */
export function webgpu(): { ok: true } | { missing: string } {
  if (cached) return cached;
  const status = probeProviders().find((p) => p.name === 'webgpu')!;
  cached = status.available ? { ok: true } : { missing: `no WebGPU adapter: ${status.reasons.join('; ')}` };
  if ('missing' in cached && process.env.EMU_REQUIRE_WEBGPU === '1') throw new Error(`EMU_REQUIRE_WEBGPU=1 but ${cached.missing}`);
  return cached;
}
