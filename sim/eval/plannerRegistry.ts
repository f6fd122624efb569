import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../../sdk/errors.ts';
import { OraclePlanner } from '../../planners/OraclePlanner.ts';
import type { Planner } from '../../planners/Planner.ts';
import { TrivialPlanner } from '../../planners/TrivialPlanner.ts';
import { simOracleSolver } from './simOracleSolver.ts';
import { trivialCandidates } from './trivialCandidates.ts';
import { WorldView } from './WorldView.ts';

export interface PlannerFactoryOptions {
  /** What follows the colon in `--planner name:arg` (e.g. a model folder), if anything. */
  arg?: string;
  /** The harness's view of each episode's true state, for privileged baselines (the oracle) only. */
  view: WorldView;
}
export type PlannerFactory = (options: PlannerFactoryOptions) => Promise<Planner>;

const factories = new Map<string, PlannerFactory>();

/**
 * Makes a planner available to `emu sim eval --planner <name>[:arg]`. Evaluation workers are
 * separate threads: put the call in a module and pass it as `--planner-module <path>`, which every
 * worker imports before creating its planner. The module must load as ESM (a `.ts` file inside this
 * package, or `.mts`), so that it shares this registry instance.
 *
 * @example registerPlanner('emu', async ({ arg }) => EmuPlanner.create({ modelDir: arg! }))
 */
export function registerPlanner(name: string, factory: PlannerFactory): void {
  factories.set(name, factory);
}

/** Names `--planner` accepts now (built-ins plus whatever planner modules registered). */
export function registeredPlanners(): string[] {
  return [...factories.keys()];
}

/** Imports a planner module (for its `registerPlanner` calls); a path is taken relative to the cwd. */
export async function loadPlannerModule(modulePath: string): Promise<void> {
  const url = /^[a-z]+:/i.test(modulePath) ? modulePath : pathToFileURL(path.resolve(modulePath)).href;
  await import(url);
}

/** `oracle`, `trivial`, `emu:/models/nano` → a planner from the registry. */
export async function createPlanner(spec: string, plannerModule?: string, view: WorldView = new WorldView()): Promise<Planner> {
  if (plannerModule) await loadPlannerModule(plannerModule);
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? undefined : spec.slice(colon + 1);
  const factory = factories.get(name);
  if (!factory) {
    throw new InputError('input_invalid', `unknown planner '${name}' (registered: ${registeredPlanners().join(', ')}; add one with --planner-module)`);
  }
  return factory({ view, ...(arg !== undefined ? { arg } : {}) });
}

registerPlanner('oracle', async ({ view }) => new OraclePlanner({ solve: simOracleSolver(view) }));
registerPlanner('trivial', async ({ arg }) =>
  arg === 'echo' ? new TrivialPlanner({ mode: 'echo' }) : new TrivialPlanner({ candidates: trivialCandidates }),
);
// The model-backed planner: `emu` (the embedded emu-nano), `emu:/path/to/model`, or a remote engine
// `emu:ws://host:port` / `emu:nats://host:port` (token from EMU_TOKEN). Loaded lazily so
// oracle/trivial runs never start onnxruntime.
registerPlanner('emu', async ({ arg }) => {
  const [{ openBackend }, { EmuVlaPlanner }, { DEFAULT_MODEL_DIR }] = await Promise.all([
    import('../../sdk/openBackend.ts'),
    import('../../planners/EmuVlaPlanner.ts'),
    import('../../sdk/model/defaultModel.ts'),
  ]);
  const backend = await openBackend(arg || DEFAULT_MODEL_DIR);
  return new EmuVlaPlanner(backend);
});
