import { readFile } from 'node:fs/promises';
import { openBackend } from '../sdk/openBackend.ts';
import type { EmuBackend } from '../sdk/EmuBackend.ts';
import { ConfigError } from '../sdk/errors.ts';
import { EmuVlaPlanner } from '../planners/EmuVlaPlanner.ts';
import type { Planner } from '../planners/Planner.ts';
import { BridgePipeline } from './pipeline/BridgePipeline.ts';
import type { BridgeConfig } from './pipeline/BridgeConfig.ts';
import type { Logger } from './pipeline/StatusReporter.ts';
import type { Transport } from './transports/Transport.ts';
import { Subject, type Observable } from 'rxjs';

/** The managed-node states of ROS 2 (design.ros2.org "Managed nodes"), as the bridge has them. */
export const LIFECYCLE_STATES = ['unconfigured', 'inactive', 'active', 'finalized'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];
export const LIFECYCLE_TRANSITIONS = ['configure', 'activate', 'deactivate', 'cleanup', 'shutdown'] as const;
export type LifecycleTransition = (typeof LIFECYCLE_TRANSITIONS)[number];

/** Which transition goes from which state (shutdown: from any but finalized). */
const FROM: Record<LifecycleTransition, readonly LifecycleState[]> = {
  configure: ['unconfigured'],
  activate: ['inactive'],
  deactivate: ['active'],
  cleanup: ['inactive'],
  shutdown: ['unconfigured', 'inactive', 'active'],
};

/** A transition asked for from a state it does not start from, or while another one runs. */
export class LifecycleError extends ConfigError {}

/** A transition starting (`to` undefined) or ending (`ok` says whether it did what it says). */
export interface LifecycleEvent {
  transition: LifecycleTransition;
  from: LifecycleState;
  to?: LifecycleState;
  ok?: boolean;
  error?: string;
}

export interface BridgeLifecycleOptions {
  transport: Transport;
  /** Use this planner instead of an EmuVlaPlanner over `config.model.dir` (then no model is loaded). */
  planner?: Planner;
  log?: Logger;
}

/**
 * The bridge as a managed node. `configure` loads the model and opens the pipeline (status and the
 * action served; goals refused), `activate` listens to the input topics, `deactivate` stops
 * listening and cancels the plan in flight, `cleanup` closes the pipeline and frees the model,
 * `shutdown` ends it all, the transport included. Transitions are async and one at a time; a
 * failed transition leaves the node unconfigured with nothing held. The transport stays its
 * owner's (`createBridge` closes it after shutdown). The ROS lifecycle services drive it on the
 * ROS transport; every transport runs configure + activate at start unless told not to.
 *
 * @example
 * const bridge = new BridgeLifecycle(config, { transport }); await bridge.configure(); await bridge.activate();
 */
export class BridgeLifecycle {
  readonly transport: Transport;
  readonly #planner: Planner | undefined;
  readonly #log: Logger | undefined;
  #config: BridgeConfig;
  #state: LifecycleState = 'unconfigured';
  #busy: LifecycleTransition | undefined;
  #backend: EmuBackend | undefined;
  #pipeline: BridgePipeline | undefined;
  readonly #finalized: Promise<void>;
  #onFinalized!: () => void;
  #running: Promise<unknown> = Promise.resolve();
  readonly #events = new Subject<LifecycleEvent>();

  constructor(config: BridgeConfig, options: BridgeLifecycleOptions) {
    this.#config = config;
    this.transport = options.transport;
    this.#planner = options.planner;
    this.#log = options.log;
    this.#finalized = new Promise((resolve) => (this.#onFinalized = resolve));
  }

  get state(): LifecycleState {
    return this.#state;
  }

  /** The transition running now, if any. */
  get transitioning(): LifecycleTransition | undefined {
    return this.#busy;
  }

  /** The settings in effect (or, while unconfigured, those the next configure uses). */
  get config(): BridgeConfig {
    return this.#config;
  }

  /** The pipeline while configured (inactive or active). */
  get pipeline(): BridgePipeline | undefined {
    return this.#pipeline;
  }

  get backend(): EmuBackend | undefined {
    return this.#backend;
  }

  /** Every transition as it starts and ends (the ROS node publishes them as transition events). */
  get events(): Observable<LifecycleEvent> {
    return this.#events.asObservable();
  }

  /** Resolves once the node is finalized (shutdown). */
  get finalized(): Promise<void> {
    return this.#finalized;
  }

  /** Whether `transition` may start now. */
  canRun(transition: LifecycleTransition): boolean {
    return this.#busy === undefined && FROM[transition].includes(this.#state);
  }

  async run(transition: LifecycleTransition): Promise<LifecycleState> {
    switch (transition) {
      case 'configure':
        return this.configure();
      case 'activate':
        return this.activate();
      case 'deactivate':
        return this.deactivate();
      case 'cleanup':
        return this.cleanup();
      case 'shutdown':
        return this.shutdown();
    }
  }

  configure(config?: BridgeConfig): Promise<LifecycleState> {
    return this.#transition('configure', 'inactive', async () => {
      if (config) this.#config = config;
      const planner = this.#planner ?? (await this.#loadPlanner());
      const pipeline = new BridgePipeline({ transport: this.transport, planner, config: this.#config, ...(this.#log ? { log: this.#log } : {}) });
      pipeline.open();
      this.#pipeline = pipeline;
    });
  }

  activate(): Promise<LifecycleState> {
    return this.#transition('activate', 'active', async () => this.#pipeline!.activate());
  }

  deactivate(): Promise<LifecycleState> {
    return this.#transition('deactivate', 'inactive', async () => this.#pipeline!.deactivate());
  }

  cleanup(): Promise<LifecycleState> {
    return this.#transition('cleanup', 'unconfigured', () => this.#release());
  }

  shutdown(): Promise<LifecycleState> {
    return this.#transition('shutdown', 'finalized', () => this.#release());
  }

  /** Shuts down (after the transition running now, if any) unless already finalized. */
  async close(): Promise<void> {
    await this.#running.catch(() => undefined);
    if (this.#state !== 'finalized') await this.shutdown();
  }

  /**
   * Applies settings that may change while configured (see `BridgePipeline.reconfigure`): a new
   * planner is built over the loaded model when the planner's own options changed.
   */
  update(config: BridgeConfig): void {
    const plannerChanged = JSON.stringify(config.planner) !== JSON.stringify(this.#config.planner);
    this.#config = config;
    if (!this.#pipeline) return;
    const planner = plannerChanged && this.#backend ? this.#emuPlanner(this.#backend) : undefined;
    this.#pipeline.reconfigure(config, planner);
  }

  async #transition(name: LifecycleTransition, to: LifecycleState, work: () => Promise<void>): Promise<LifecycleState> {
    if (this.#busy) throw new LifecycleError(`cannot ${name}: ${this.#busy} is in progress`);
    if (!FROM[name].includes(this.#state)) throw new LifecycleError(`cannot ${name} from ${this.#state} (from ${FROM[name].join(' or ')} only)`);
    const from = this.#state;
    this.#busy = name;
    this.#events.next({ transition: name, from });
    const done = (async () => {
      try {
        await work();
        this.#state = to;
        this.#events.next({ transition: name, from, to, ok: true });
      } catch (err) {
        // A transition that fails part way must not hold half its resources: back to unconfigured
        // (as ROS's on_error does), except a failed shutdown, which still ends the node.
        await this.#release().catch(() => undefined);
        this.#state = name === 'shutdown' ? 'finalized' : 'unconfigured';
        this.#events.next({ transition: name, from, to: this.#state, ok: false, error: (err as Error).message });
        throw err;
      } finally {
        this.#busy = undefined;
        if (this.#state === 'finalized') {
          this.#onFinalized();
          this.#events.complete();
        }
      }
      return this.#state;
    })();
    this.#running = done;
    return done;
  }

  async #loadPlanner(): Promise<Planner> {
    const { model } = this.#config;
    if (model.dir && model.url) throw new ConfigError('model.dir and model.url are both set: a model folder here, or a remote engine, not both');
    const where = model.url ?? model.dir;
    if (!where) throw new ConfigError('no model: pass --model DIR or --backend URL (or model.dir / model.url in the config file, or the model.dir parameter)');
    const token = model.tokenFile ? await readTokenFile(model.tokenFile) : undefined;
    this.#backend = await openBackend(where, { device: model.device, threads: model.threads, ...(token ? { token } : {}), ...(this.#log ? { log: this.#log.info } : {}) });
    return this.#emuPlanner(this.#backend);
  }

  #emuPlanner(backend: EmuBackend): Planner {
    const { sampling, seed, grid, maxGoalChars } = this.#config.planner;
    return new EmuVlaPlanner(backend, { maxGoalChars, ...(sampling ? { sampling } : {}), ...(seed !== undefined ? { seed } : {}), ...(grid ? { grid } : {}) });
  }

  /** Closes the pipeline (cancelling its plan, a last status) and frees the model. */
  async #release(): Promise<void> {
    const pipeline = this.#pipeline;
    const backend = this.#backend;
    this.#pipeline = undefined;
    this.#backend = undefined;
    try {
      await pipeline?.stop();
    } finally {
      await backend?.close();
    }
  }
}

async function readTokenFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split(/\r?\n/)[0]!.trim();
  } catch (err) {
    throw new ConfigError(`cannot read model.tokenFile '${file}': ${(err as Error).message}`, [], { cause: err });
  }
}
